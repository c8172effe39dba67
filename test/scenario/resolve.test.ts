import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { baseRttMs, type NetworkSpec } from '../../netem/model.ts';
import { getProfile, PROFILE_NAMES, PROFILES } from '../../netem/profiles.ts';
import { needsUserspace } from '../../netem/topology.ts';
import { loadScenario, parseScenario } from '../../src/scenario/load.ts';
import { UserError } from '../../src/util/errors.ts';

const shaped = (yaml: string) => {
  const s = parseScenario(`${yaml}\nworkloads: [{type: requests}]\n`, 'test.yaml');
  return s;
};
function specOf(yaml: string): Extract<NetworkSpec, { kind: 'shaped' }> {
  const spec = shaped(yaml).networks[0]!.spec;
  if (spec.kind !== 'shaped') throw new Error('expected a shaped network');
  return spec;
}

describe('network profiles', () => {
  // RTT and rates (down/up, bits/s) as published by their sources (see the design's table).
  it.each([
    ['cable', 28, 5e6, 1e6],
    ['dsl', 50, 1.5e6, 384e3],
    ['slow-4g', 150, 1.6e6, 750e3],
    ['regular-3g', 300, 700e3, 700e3],
    ['3g', 300, 1.6e6, 768e3],
    ['lte', 70, 12e6, 12e6],
    ['interop-runner', 30, 10e6, 10e6],
    ['satellite', 600, 25e6, 3e6],
  ] as const)('%s: %d ms RTT, %d / %d bit/s', (name, rtt, down, up) => {
    const p = getProfile(name)!;
    expect(baseRttMs({ name: 'primary', up: p.up, down: p.down })).toBe(rtt);
    expect(p.up.delayMs).toBe(p.down.delayMs);
    expect(p.down.rateBps).toBe(down);
    expect(p.up.rateBps).toBe(up);
  });

  it('interop-runner has a 25-packet queue each way', () => {
    const p = getProfile('interop-runner')!;
    expect([p.up.queueLimitPackets, p.down.queueLimitPackets]).toEqual([25, 25]);
  });

  it('lossy-mobile: Gilbert-Elliott with a 3.5% long-run loss and a pareto-tailed delay', () => {
    const p = getProfile('lossy-mobile')!;
    for (const d of [p.up, p.down]) {
      if (d.loss.model !== 'gilbert-elliott') throw new Error('expected Gilbert-Elliott loss');
      const stationaryBad = d.loss.p / (d.loss.p + d.loss.r);
      const loss = stationaryBad * d.loss.oneMinusH + (1 - stationaryBad) * d.loss.oneMinusK;
      expect(loss).toBeCloseTo(0.035, 6);
      expect(d.jitterDistribution).toBe('pareto');
      expect(d.jitterMs).toBeGreaterThan(0);
    }
  });

  it('every profile has a source line and can be used by name', () => {
    for (const name of PROFILE_NAMES) {
      expect(PROFILES.get(name)!.source.length, name).toBeGreaterThan(20);
      expect(specOf(`network: {profile: ${name}}`).profile).toBe(name);
    }
  });

  it('getProfile returns copies', () => {
    getProfile('cable')!.up.delayMs = 999;
    expect(getProfile('cable')!.up.delayMs).toBe(14);
  });
});

describe('paths and phases', () => {
  it('defaults to one path named primary', () => {
    expect(specOf('network: {link: {delay: 5ms}}').paths.map((p) => p.name)).toEqual(['primary']);
  });

  it('applies network values, then each path\'s own', () => {
    const spec = specOf(`
network:
  link: {delay: 20ms, rate: 50mbit}
  paths:
    - name: wifi
    - name: lte
      link: {delay: 40ms}
      down: {rate: 10mbit}
`);
    expect(spec.paths.map((p) => [p.name, p.up.delayMs, p.up.rateBps, p.down.delayMs, p.down.rateBps])).toEqual([
      ['wifi', 20, 50e6, 20, 50e6],
      ['lte', 40, 50e6, 40, 10e6],
    ]);
  });

  it('turns phases into time-ordered changes relative to the previous state', () => {
    const spec = specOf(`
network:
  backend: userspace
  link: {delay: 20ms, loss: 1%}
  paths: [{name: wifi}, {name: lte}]
  phases:
    - {at: 20s, path: wifi, link: {blackhole: false, loss: 1%}}
    - {at: 10s, path: wifi, link: {blackhole: true}, rebind: {port: true}}
    - {at: 30s, up: {delay: 30ms}}
`);
    expect(spec.phases).toEqual([
      { atMs: 10_000, path: 'wifi', up: { blackhole: true }, down: { blackhole: true }, rebind: { port: true } },
      { atMs: 20_000, path: 'wifi', up: { blackhole: false }, down: { blackhole: false } },
      { atMs: 30_000, up: { delayMs: 30 } },
    ]);
  });

  it('Gilbert-Elliott values map onto netem gemodel', () => {
    const spec = specOf('network: {link: {gilbertElliott: {p: 1%, r: 30%, lossInBad: 80%}}}');
    expect(spec.paths[0]!.down.loss).toEqual({ model: 'gilbert-elliott', p: 0.01, r: 0.3, oneMinusH: 0.8, oneMinusK: 0 });
  });

  it('a loss override replaces the profile\'s loss model', () => {
    expect(specOf('network: {profile: lossy-mobile, link: {loss: 0%}}').paths[0]!.up.loss).toEqual({ model: 'none' });
  });
});

describe('sweeps', () => {
  it('rtt sets half the RTT each way on every path and labels each variant', () => {
    const s = shaped('network: {profile: cable, paths: [{name: a}, {name: b}]}\nsweep: {rtt: [20ms, 0.1s]}');
    expect(s.sweep).toEqual({ key: 'rtt', unit: 'ms' });
    expect(s.networks.map((n) => n.label)).toEqual(['rtt=20ms', 'rtt=100ms']);
    expect(s.networks.map((n) => n.sweepValue)).toEqual([20, 100]);
    for (const n of s.networks) {
      if (n.spec.kind !== 'shaped') throw new Error('shaped expected');
      for (const p of n.spec.paths) expect(baseRttMs(p)).toBe(n.sweepValue);
      // Everything else stays as the profile says.
      expect(n.spec.paths[0]!.down.rateBps).toBe(5e6);
    }
  });

  it('rate variants are labelled in readable units', () => {
    const s = shaped('network: {link: {delay: 10ms}}\nsweep: {rate: [500kbit, 1.5Mbit, 10MB/s, 1gbit]}');
    expect(s.networks.map((n) => n.label)).toEqual(['rate=500kbit', 'rate=1.5mbit', 'rate=80mbit', 'rate=1gbit']);
  });

  it('loss variants use random loss in both directions', () => {
    const s = shaped('network: {link: {delay: 50ms}}\nsweep: {loss: [0%, 2%]}');
    const losses = s.networks.map((n) => (n.spec.kind === 'shaped' ? [n.spec.paths[0]!.up.loss, n.spec.paths[0]!.down.loss] : []));
    expect(losses).toEqual([
      [{ model: 'none' }, { model: 'none' }],
      [
        { model: 'random', probability: 0.02, correlation: 0 },
        { model: 'random', probability: 0.02, correlation: 0 },
      ],
    ]);
  });
});

/** Runs `check` with a fresh directory for scenario files, removed afterwards. */
function inTempDir(check: (dir: string) => void): void {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bench-resolve-'));
  try {
    check(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('jitter order', () => {
  it('is netem\'s (reorder, left out of the spec) unless the scenario keeps packets in order, which auto runs on the userspace link', () => {
    expect(specOf('network: {link: {jitter: 5ms}}').jitterOrder).toBeUndefined();
    const fifo = specOf('network: {jitterOrder: fifo, link: {jitter: 5ms}}');
    expect(fifo.jitterOrder).toBe('fifo');
    expect(needsUserspace(fifo)).toMatch(/jitterOrder: fifo/);
  });
});

describe('rate traces', () => {
  it('are resolved against the scenario file, not the working directory, in paths and phases alike', () => {
    inTempDir((dir) => {
      mkdirSync(path.join(dir, 'scenarios'));
      mkdirSync(path.join(dir, 'traces'));
      writeFileSync(path.join(dir, 'traces', 'slow'), '10\n20\n');
      const file = path.join(dir, 'scenarios', 'drive.yaml');
      const s = parseScenario(
        'network:\n  paths: [{name: lte, down: {rateTrace: ../traces/slow}}]\n  phases: [{at: 1s, up: {rateTrace: ../traces/slow}}]\nworkloads: [{type: requests}]',
        file,
      );
      const spec = s.networks[0]!.spec as Extract<NetworkSpec, { kind: 'shaped' }>;
      expect(spec.paths[0]!.down.rateTrace).toBe(path.join(dir, 'traces', 'slow'));
      expect(spec.phases[0]!.up?.rateTrace).toBe(path.join(dir, 'traces', 'slow'));
    });
  });

  it('the shipped lte-drive scenario finds the shipped traces', () => {
    const spec = loadScenario('scenarios/lte-drive.yaml').networks[0]!.spec as Extract<NetworkSpec, { kind: 'shaped' }>;
    expect(spec.paths[0]!.down.rateTrace).toBe(path.resolve('traces/lte-drive.down'));
    expect(spec.paths[0]!.up.rateTrace).toBe(path.resolve('traces/lte-drive.up'));
  });
});

describe('servers', () => {
  it('a command: defaults, ports, paths relative to the scenario file', () => {
    inTempDir((dir) => {
      mkdirSync(path.join(dir, 'conf'));
      writeFileSync(path.join(dir, 'conf', 'Caddyfile'), 'https://:{{port.h2}} {\n  tls {{cert}} {{key}}\n  try_files {path}.html\n}\n');
      const file = path.join(dir, 'own.yaml');
      const s = parseScenario('servers:\n  command: caddy run --config {{config}}\n  config: conf/Caddyfile\n  ports: {h3: 9443}\n  version: caddy version\nworkloads: [{type: requests}]', file);
      expect(s.servers).toEqual({
        kind: 'command',
        command: 'caddy run --config {{config}}',
        config: path.join(dir, 'conf', 'Caddyfile'),
        ports: { h3: 9443 },
        version: 'caddy version',
        startTimeoutMs: 20_000,
        cwd: dir,
      });
      // Behind the shaped link too: the server runs in the server namespace.
      const shaped = parseScenario('network: {profile: cable}\nservers: {command: "my-server --port {{port.h1}}", startTimeout: 5s}\nworkloads: [{type: requests}]', file);
      expect(shaped.servers).toMatchObject({ kind: 'command', startTimeoutMs: 5000, ports: {} });
    });
  });

  it("a config template's unknown placeholder is reported at its own line and column", () => {
    inTempDir((dir) => {
      writeFileSync(path.join(dir, 'nginx.conf'), 'events {}\nhttp {\n  server {\n    listen {{host}}:{{prot.h2}} ssl;\n  }\n}\n');
      const load = () => parseScenario('servers: {command: "nginx -c {{config}}", config: nginx.conf}\nworkloads: [{type: requests}]', path.join(dir, 'own.yaml'));
      expect(load).toThrow(UserError);
      expect(load).toThrow(`${path.join(dir, 'nginx.conf')}:4:21: unknown placeholder \`{{prot.h2}}\`, expected one of {{cert}}, {{key}}, {{host}}, {{port.h1}}, {{port.h2}}, {{port.h3}}, {{dir}}, {{site}}. Did you mean \`{{port.h2}}\`?`);
    });
  });

  it('an external CA file is read relative to the scenario file and must hold a certificate', () => {
    inTempDir((dir) => {
      writeFileSync(path.join(dir, 'ca.pem'), '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');
      writeFileSync(path.join(dir, 'key.pem'), '-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----\n');
      const text = (ca: string) => `protocols: [h2]\nservers: {h2: "https://a.test:8443", ca: ${ca}}\nworkloads: [{type: requests}]`;
      expect(parseScenario(text('ca.pem'), path.join(dir, 'x.yaml')).servers).toEqual({
        kind: 'external',
        targets: { h2: { url: 'https://a.test:8443', insecure: false, ca: path.join(dir, 'ca.pem') } },
      });
      expect(() => parseScenario(text('key.pem'), path.join(dir, 'x.yaml'))).toThrow(/servers\.ca: key\.pem holds no PEM certificate/);
    });
  });

  it('external targets per protocol', () => {
    const s = parseScenario('protocols: [h2, h3]\nservers: {h2: "https://a.test:8443", h3: "https://a.test:8443/", insecure: true}\nworkloads: [{type: requests}]', 'x.yaml');
    expect(s.servers).toEqual({
      kind: 'external',
      targets: { h2: { url: 'https://a.test:8443', insecure: true }, h3: { url: 'https://a.test:8443/', insecure: true } },
    });
  });
});

describe('tls', () => {
  it('defaults to one ECDSA P-256 leaf signed by the root, and takes the key type and intermediates written', () => {
    expect(shaped('network: {profile: lte}').tls).toEqual({ key: 'ecdsa-p256', intermediates: 0 });
    expect(shaped('network: {profile: lte}\ntls: {key: rsa-4096, intermediates: 3}').tls).toEqual({ key: 'rsa-4096', intermediates: 3 });
    expect(shaped('tls: {intermediates: 1}').tls).toEqual({ key: 'ecdsa-p256', intermediates: 1 });
  });

  it('applies to a command server too (its {{cert}} is the chain)', () => {
    const s = shaped('servers: {command: "caddy run --config x"}\ntls: {key: rsa-2048}');
    expect(s.servers.kind).toBe('command');
    expect(s.tls).toEqual({ key: 'rsa-2048', intermediates: 0 });
  });
});
