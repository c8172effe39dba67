import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { getProfile } from '../../netem/profiles.ts';
import { loadScenario, parseScenario } from '../../src/scenario/load.ts';
import { UserError } from '../../src/util/errors.ts';

const parse = (text: string, overrides = {}) => parseScenario(text, 'test.yaml', overrides);

function errorOf(fn: () => unknown): UserError {
  try {
    fn();
  } catch (err) {
    if (err instanceof UserError) return err;
    throw err;
  }
  throw new Error('expected a UserError');
}

describe('every scenario in scenarios/ loads', () => {
  // scenarios/papers/ included: scenarios that reproduce a paper's setting.
  const files = readdirSync('scenarios', { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.yaml'));
  it('has scenario files', () => expect(files.length).toBeGreaterThan(0));
  it.each(files)('%s', (f) => {
    const s = loadScenario(`scenarios/${f}`);
    expect(s.name).toBe(f.replace(/^.*\//, '').replace(/\.yaml$/, ''));
    expect(s.workloads.length).toBeGreaterThan(0);
    expect(s.networks.length).toBeGreaterThan(0);
  });
});

describe('defaults and units', () => {
  it('fills in defaults for a minimal scenario', () => {
    const s = parse('workloads: [{type: requests}]');
    expect(s).toMatchObject({
      file: 'test.yaml',
      name: 'test',
      description: '',
      protocols: ['h1', 'h2', 'h3'],
      repetitions: 3,
      seed: 1,
      networks: [{ label: 'none', spec: { kind: 'none' } }],
      servers: { kind: 'builtin' },
      timeouts: { requestMs: 30_000, cellMs: 300_000 },
    });
    expect(s.workloads).toEqual([
      { type: 'requests', name: 'requests', requests: 100, concurrency: 10, connections: 1, h1PoolSize: 6, sizes: [10_000], warmup: 0 },
    ]);
  });

  it('converts every workload to base units', () => {
    const s = parse(`
workloads:
  - {type: requests, sizes: [1KB, 2KiB], warmup: 5}
  - {type: handshake, modes: [cold, 0rtt], connections: 4, size: 512B}
  - {type: multiplex, requests: 50, size: 10KB, rounds: 2, reference: false}
  - {type: page, resources: 5, depth: 2, sizes: {html: 30KB}, loads: 3}
`);
    expect(s.workloads).toEqual([
      { type: 'requests', name: 'requests', requests: 100, concurrency: 10, connections: 1, h1PoolSize: 6, sizes: [1000, 2048], warmup: 5 },
      { type: 'handshake', name: 'handshake', modes: ['cold', '0rtt'], connections: 4, parallel: 1, size: 512 },
      { type: 'multiplex', name: 'multiplex', requests: 50, sizes: [10_000], rounds: 2, reference: false, h1PoolSize: 6 },
      { type: 'page', name: 'page', resources: 5, depth: 2, sizes: { html: 30_000, resource: 10_000 }, loads: 3, h1PoolSize: 6 },
    ]);
  });

  it("takes downloads from 1 MB up to the servers' 1 GiB (the limit is theirs, not a buffer's)", () => {
    const s = parse(`
workloads:
  - {type: throughput, name: small, size: 1MB}
  - {type: throughput, name: large, size: 100MB, parallel: 4}
  - {type: throughput, name: largest, size: 1GiB}
`);
    expect(s.workloads.map((w) => (w as { size: number }).size)).toEqual([1_000_000, 100_000_000, 2 ** 30]);
    expect(errorOf(() => parse('workloads: [{type: throughput, size: 1.1GB}]')).message).toMatch(/more than the servers send in one response, expected a size up to 1GiB/);
  });

  it('load: client workers default to 1, take a number or auto as written', () => {
    const s = parse(`
workloads:
  - {type: load, name: one, concurrency: 8}
  - {type: load, name: four, concurrencies: [4, 16], connections: 4, clientWorkers: 4}
  - {type: load, name: auto, rates: [100, 200], connections: 8, clientWorkers: auto}
`);
    expect(s.workloads.map((w) => (w.type === 'load' ? w.clientWorkers : undefined))).toEqual([1, 4, 'auto']);
  });

  it('load: the client defaults to lean, takes library, and rejects anything else at its line and column', () => {
    const s = parse(`
workloads:
  - {type: load, name: default, concurrency: 8}
  - {type: load, name: library, concurrency: 8, client: library}
`);
    expect(s.workloads.map((w) => (w.type === 'load' ? w.client : undefined))).toEqual(['lean', 'library']);
    const message = errorOf(() => parse('workloads:\n  - {type: load, concurrency: 8, client: libary}')).message;
    expect(message).toMatch(/:2:42: workloads\[0\]\.client: unknown load client/);
    expect(message).toMatch(/Did you mean `library`\?/);
  });

  it('applies a profile, then link, then up/down overrides', () => {
    const s = parse(`
network:
  profile: cable
  link: {delay: 20ms, loss: 1%}
  up: {rate: 2mbit}
  down: {rate: unlimited, lossCorrelation: 25%}
workloads: [{type: requests}]
`);
    expect(s.networks).toHaveLength(1);
    const net = s.networks[0]!;
    expect(net.label).toBe('cable');
    if (net.spec.kind !== 'shaped') throw new Error('shaped expected');
    expect(net.spec.profile).toBe('cable');
    const [path] = net.spec.paths;
    expect(path!.name).toBe('primary');
    expect(path!.up).toMatchObject({ delayMs: 20, rateBps: 2e6, loss: { model: 'random', probability: 0.01, correlation: 0 } });
    expect(path!.down).toMatchObject({ delayMs: 20, loss: { model: 'random', probability: 0.01, correlation: 0.25 } });
    expect(path!.down.rateBps).toBeUndefined();
  });

  it('expands a profile unchanged when nothing overrides it', () => {
    const s = parse('network: {profile: interop-runner}\nworkloads: [{type: requests}]');
    const spec = s.networks[0]!.spec;
    if (spec.kind !== 'shaped') throw new Error('shaped expected');
    const profile = getProfile('interop-runner')!;
    expect(spec.paths[0]!.up).toEqual(profile.up);
    expect(spec.paths[0]!.down).toEqual(profile.down);
  });

  it('accepts YAML merge keys to share link values', () => {
    const s = parse(`
network:
  paths:
    - name: wifi
      link: &base {delay: 10ms, loss: 1%}
    - name: lte
      link: {<<: *base, delay: 40ms}
workloads: [{type: requests}]
`);
    const spec = s.networks[0]!.spec;
    if (spec.kind !== 'shaped') throw new Error('shaped expected');
    expect(spec.paths.map((p) => [p.name, p.up.delayMs, p.up.loss])).toEqual([
      ['wifi', 10, { model: 'random', probability: 0.01, correlation: 0 }],
      ['lte', 40, { model: 'random', probability: 0.01, correlation: 0 }],
    ]);
  });

  it('command-line overrides win over the file', () => {
    const s = parse('repetitions: 5\nseed: 7\nworkloads: [{type: requests}]', { repetitions: 1, protocols: ['h3'], seed: 9 });
    expect(s).toMatchObject({ repetitions: 1, protocols: ['h3'], seed: 9 });
  });

  it('--capture makes `backend: auto` the userspace backend, which records the packets', () => {
    const yaml = 'network: {link: {delay: 10ms}}\nsweep: {loss: [0%, 1%]}\nworkloads: [{type: requests}]';
    expect(parse(yaml).networks.map((n) => n.spec.kind === 'shaped' && n.spec.backend)).toEqual(['auto', 'auto']);
    expect(parse(yaml, { capture: true }).networks.map((n) => n.spec.kind === 'shaped' && n.spec.backend)).toEqual(['userspace', 'userspace']);
  });

  it.each([
    [{ repetitions: 0 }, '--repetitions: 0 is not allowed, expected a whole number from 1 to 1000. Write e.g. `--repetitions 3`.'],
    [{ repetitions: 2.5 }, '--repetitions: 2.5 is not allowed, expected a whole number from 1 to 1000. Write e.g. `--repetitions 3`.'],
    [{ seed: -1 }, '--seed: -1 is not allowed, expected a whole number from 0 to 4294967295. Write e.g. `--seed 1`.'],
    [{ protocols: [] }, '--protocols: the list is empty, expected one or more of h1, h2, h3. Write e.g. `--protocols h2,h3`.'],
    [{ protocols: ['h2', 'http3'] }, '--protocols: unknown protocol "http3", expected one or more of h1, h2, h3. Use `h1`, `h2`, `h3`, comma-separated.'],
    [{ protocols: ['h2', 'h2'] }, '--protocols: `h2` is listed twice, expected each protocol once. Remove the second `h2`.'],
  ])('rejects override %j', (overrides, msg) => {
    const err = errorOf(() => parse('workloads: [{type: requests}]', overrides));
    expect(err.message).toBe(msg);
    expect(err.code).toBe('E_OPTION');
  });
});
