/**
 * Editors validate scenario files with scenarios/schema.json: it must accept every shipped scenario
 * and agree with the loader on the shape of bad ones.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { Ajv } from 'ajv';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { SCHEMA_PATH } from '../../src/scenario/write-schema.ts';

const ajv = new Ajv({ allErrors: true, strict: false });
const validate = ajv.compile(JSON.parse(readFileSync(SCHEMA_PATH, 'utf8')));

describe('scenarios/schema.json as an editor sees it', () => {
  const shipped = [...readdirSync('scenarios'), ...readdirSync('scenarios/papers').map((f) => `papers/${f}`)].filter((f) => f.endsWith('.yaml'));
  it.each(shipped)('accepts scenarios/%s', (f) => {
    const ok = validate(parse(readFileSync(`scenarios/${f}`, 'utf8')));
    expect(validate.errors ?? []).toEqual([]);
    expect(ok).toBe(true);
  });

  // Mistakes of shape (not of cross-key rules, which only the loader knows) are flagged by editors too.
  it.each([
    'unknown-key-typo',
    'unknown-top-level-key',
    'unknown-workload-key',
    'unknown-profile',
    'profile-name-as-network',
    'unknown-protocol',
    'protocols-not-a-list',
    'unknown-workload-type',
    'missing-workload-type',
    'empty-workloads',
    'missing-workloads',
    'loss-bare-fraction',
    'delay-without-unit',
    'negative-delay',
    'rate-unit-typo',
    'duration-unit-typo',
    'size-unit-typo',
    'negative-requests',
    'fractional-concurrency',
    'quoted-number',
    'unknown-handshake-mode',
    'sweep-unknown-key',
    'mtu-too-small',
    'unknown-backend',
    'tls-unknown-key',
    'tls-too-many-intermediates',
  ])('rejects bad-scenarios/%s', (name) => {
    const doc = parse(readFileSync(`test/fixtures/bad-scenarios/${name}.yaml`, 'utf8'));
    expect(validate(doc)).toBe(false);
  });
});
