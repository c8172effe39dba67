import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { SCHEMA_PATH, scenarioJsonSchema } from '../../src/scenario/write-schema.ts';
import { parseDuration, parsePercent, parseRate, parseSize } from '../../src/scenario/units.ts';

const schema = JSON.parse(readFileSync(SCHEMA_PATH, 'utf8'));
const link = schema.definitions.LinkValues.properties;

function patternOf(node: { pattern?: string; anyOf?: { pattern?: string }[] }): RegExp {
  const pattern = node.pattern ?? node.anyOf?.find((n) => n.pattern)?.pattern;
  if (!pattern) throw new Error('no pattern');
  return new RegExp(pattern);
}

describe('scenarios/schema.json', () => {
  it('is up to date with src/scenario/schema.ts (run `npm run schema`)', () => {
    expect(readFileSync(SCHEMA_PATH, 'utf8')).toBe(scenarioJsonSchema());
  });

  it('is referenced by every scenario file', () => {
    for (const f of readdirSync('scenarios', { recursive: true, encoding: 'utf8' }).filter((n) => n.endsWith('.yaml'))) {
      const schema = f.includes('/') ? '../'.repeat(f.split('/').length - 1) + 'schema.json' : './schema.json';
      expect(readFileSync(`scenarios/${f}`, 'utf8').split('\n')[0], f).toBe(`# yaml-language-server: $schema=${schema}`);
    }
    for (const f of readdirSync('scenarios/papers').filter((n) => n.endsWith('.yaml'))) {
      expect(readFileSync(`scenarios/papers/${f}`, 'utf8').split('\n')[0], f).toBe('# yaml-language-server: $schema=../schema.json');
    }
  });

  it('describes every key', () => {
    const undocumented: string[] = [];
    const walk = (node: unknown, where: string) => {
      if (!node || typeof node !== 'object') return;
      const n = node as Record<string, unknown>;
      for (const [key, value] of Object.entries((n.properties as Record<string, { description?: string }>) ?? {})) {
        if (!value.description) undocumented.push(`${where}.${key}`);
        walk(value, `${where}.${key}`);
      }
      for (const key of ['items', 'anyOf', 'oneOf', 'allOf']) {
        const child = n[key];
        if (Array.isArray(child)) child.forEach((c, i) => walk(c, `${where}/${key}[${i}]`));
        else walk(child, `${where}/${key}`);
      }
      for (const [key, value] of Object.entries((n.definitions as Record<string, unknown>) ?? {})) walk(value, `#${key}`);
    };
    walk(schema, '');
    expect(undocumented).toEqual([]);
  });

  // Editors flag what the pattern rejects: it must agree with the parser on what people write.
  it.each([
    ['delay', parseDuration, ['50ms', '1.5s', '250us', '2m', '0', '50 ms', '5sec', '50', '-5ms', 'fast', '1.5 h']],
    ['loss', parsePercent, ['1.5%', '0%', '100%', '0', '0.5', '2pc', '%', '25 %']],
    ['queueBytes', parseSize, ['10KB', '10kB', '10KiB', '2MiB', '512B', '1024', '10kbb', 'lots', '1.5KiB', '10 KB']],
  ] as const)('the %s pattern agrees with the parser', (key, parse, inputs) => {
    const pattern = patternOf(link[key]);
    for (const input of inputs) expect(pattern.test(input), input).toBe(parse(input).ok);
  });

  it('the rate pattern agrees with the parser', () => {
    const pattern = patternOf(link.rate.anyOf[1]);
    for (const input of ['20mbit', '1.5Mbit', '500kbit', '1gbit', '20Mbps', '20mbps', '10MB/s', '8Mb/s', '10 mbits', '10MBps', '20']) {
      expect(pattern.test(input), input).toBe(parseRate(input).ok);
    }
  });
});
