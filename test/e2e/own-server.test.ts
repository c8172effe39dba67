/**
 * Other HTTP stacks behind the same shaped link: `bench run` on the shipped Caddy and nginx
 * scenarios (the server started from the scenario's command in the server namespace, our clients
 * in the client namespace), checked against what the servers say about themselves (`caddy
 * version`, `nginx -v`, their Server header) and against the link (no request faster than its RTT).
 * Then the ways such a setup goes wrong, each an exit 2 that names the server and leaves nothing:
 * a dead external target, a command that exits at once, a daemonising command.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunResult } from '../../src/results/model.ts';
import { generateCertificate } from '../../src/tls/cert.ts';
import { startCaddy, type RunningCaddy } from '../interop/caddy.ts';
import { CADDY_SERVERS, multiplexScenario } from '../perf/bench-runs.ts';
import { isRoot, peerMissing, which } from '../support/peers.ts';
import { allProcesses, eventually, namespaces, ROOT, runBench, startBench, waitForCellEnds, withTimeout, writeScenario, type BenchRun } from './run-harness.ts';

const RUN_MS = 170_000;

let tmp: string;
beforeAll(() => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'bench-own-server-'));
});
afterAll(() => {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

function resultOf(outDir: string): RunResult {
  return JSON.parse(readFileSync(path.join(outDir, 'result.json'), 'utf8')) as RunResult;
}

/** The command line bench ran (server.log's first line), to look for its processes afterwards. */
function renderedCommand(outDir: string): string {
  return /^== network [^:]+: (.*)$/m.exec(readFileSync(path.join(outDir, 'server.log'), 'utf8'))![1]!;
}

/** The server's scratch directory ({{dir}}), as it appears in the rendered command line. */
function scratchDirOf(command: string): string {
  return /\/\S*bench-server-[^/\s]+/.exec(command)![0];
}

function processesRunning(argvPart: string): string[] {
  return allProcesses()
    .map((p) => p.argv.join(' '))
    .filter((a) => a.includes(argvPart));
}

/** Runs a shipped scenario once per protocol and workload and checks what every test of a server checks. */
async function runShipped(scenario: string, outDir: string): Promise<RunResult> {
  const nsBefore = new Set(namespaces());
  const run = await runBench(['run', scenario, '--repetitions', '1'], outDir, RUN_MS);
  expect(run.stderr).not.toMatch(/internal error/);
  expect(run.code, run.stderr).toBe(0);
  const result = resultOf(outDir);
  expect(result.run.status).toBe('complete');
  expect(result.environment.emulator.shaped).toBe(true);
  for (const cell of result.cells) {
    const what = `${cell.protocol} ${cell.workload}`;
    expect(cell.error, what).toBeUndefined();
    expect(cell.requests.failed, what).toBe(0);
    expect(cell.requests.ok, what).toBeGreaterThan(0);
    // 5 ms each way: nothing comes back faster than one round trip through the link.
    const fastest = cell.metrics.latency?.min ?? cell.metrics.pageLoad!.min;
    expect(fastest, what).toBeGreaterThanOrEqual(10);
    expect(cell.serverCpuMs, `${what}: the command's CPU is measured`).toBeGreaterThanOrEqual(0);
  }
  // The server is gone with the run: no process with the rendered command line, no scratch dir, no namespace.
  const command = renderedCommand(outDir);
  expect(processesRunning(command), 'server processes after the run').toEqual([]);
  expect(existsSync(scratchDirOf(command)), 'scratch dir').toBe(false);
  expect(namespaces().filter((n) => !nsBefore.has(n)), 'new namespaces').toEqual([]);
  return result;
}

describe.skipIf(peerMissing(isRoot(), 'root (the scenarios shape the network)') || peerMissing(!!which('caddy'), 'caddy (apt-get install caddy)'))(
  'scenarios/caddy.yaml: Caddy in the server namespace, behind the shaped link',
  () => {
    it('measures h1, h2 and h3 against Caddy, and result.json names Caddy and its version', async () => {
      const result = await runShipped('scenarios/caddy.yaml', path.join(tmp, 'caddy'));
      expect(new Set(result.cells.map((c) => c.protocol))).toEqual(new Set(['h1', 'h2', 'h3']));
      const version = execFileSync('caddy', ['version'], { encoding: 'utf8' }).trim().split('\n')[0]!;
      for (const p of ['h1', 'h2', 'h3'] as const) {
        const server = result.servers?.[p];
        expect(server, p).toMatchObject({ kind: 'command', version, name: `caddy ${version}`, cpu: 'process-group' });
        // What Caddy itself said when bench checked its routes.
        expect(server?.serverHeader, p).toBe('Caddy');
      }
      const report = readFileSync(path.join(tmp, 'caddy', 'report.html'), 'utf8');
      expect(report).toContain(`caddy ${version}`);
    }, RUN_MS + 10_000);
  },
);

describe.skipIf(peerMissing(isRoot(), 'root (the scenario shapes the network)') || peerMissing(!!which('caddy'), 'caddy (apt-get install caddy)'))(
  "Caddy's initial windows, as the link delivered them",
  () => {
    it('quic-go starts HTTP/3 with 32 packets, Linux TCP HTTP/2 with about 10: packets per round trip show both', async () => {
      const scenario = writeScenario(
        tmp,
        'caddy-windows.yaml',
        multiplexScenario({
          name: 'caddy-windows',
          description: '100 x 10 KB at once from Caddy behind 50 ms each way, no loss, no rate limit',
          protocols: ['h2', 'h3'],
          repetitions: 1,
          // A round trip long against the machine's scheduling delays, so packets stay in their round trip.
          oneWayDelayMs: 50,
          requests: 100,
          size: '10KB',
          rounds: 2,
          servers: CADDY_SERVERS,
        }),
      );
      const out = path.join(tmp, 'caddy-windows');
      const run = await runBench(['run', scenario, '--quiet'], out, RUN_MS);
      expect(run.code, run.stderr).toBe(0);
      const result = resultOf(out);
      const transfers = (p: string) => result.cells.filter((c) => c.protocol === p).flatMap((c) => c.details?.multiplex?.packetsPerRoundTrip ?? []);
      expect(transfers('h3')).toHaveLength(2);
      expect(transfers('h2')).toHaveLength(2);
      // The first round trip is the server's window as the transfer began: its initial window plus
      // the few packets the handshake's acknowledgements added in slow start.
      // (How many the handshake adds varies with TCP: 12 to 20 seen for Caddy's HTTP/2.)
      for (const r of transfers('h3')) expect(r[0], `Caddy HTTP/3 (quic-go, 32 packets): ${r.join(' ')}`).toBeGreaterThanOrEqual(28);
      for (const r of transfers('h2')) expect(r[0], `Caddy HTTP/2 (Linux TCP, 10 segments, RFC 6928): ${r.join(' ')}`).toBeLessThan(28);
      expect(readFileSync(path.join(out, 'report.html'), 'utf8')).toContain('Data packets the link delivered to the client in each round trip');
    }, RUN_MS + 10_000);
  },
);

describe.skipIf(peerMissing(isRoot(), 'root (the scenarios shape the network)') || peerMissing(!!which('nginx'), 'nginx (apt-get install nginx-light)'))(
  'scenarios/nginx.yaml: nginx in the server namespace, behind the shaped link',
  () => {
    it('measures h1 and h2 against nginx, and result.json names nginx and its version', async () => {
      const result = await runShipped('scenarios/nginx.yaml', path.join(tmp, 'nginx'));
      expect(new Set(result.cells.map((c) => c.protocol))).toEqual(new Set(['h1', 'h2']));
      // nginx -v prints its version on stderr.
      const version = spawnSync('nginx', ['-v'], { encoding: 'utf8' }).stderr.trim();
      expect(version).toMatch(/^nginx version: nginx\/\d/);
      for (const p of ['h1', 'h2'] as const) {
        const server = result.servers?.[p];
        expect(server, p).toMatchObject({ kind: 'command', version, name: version });
        expect(server?.serverHeader, p).toBe(version.replace('nginx version: ', ''));
      }
    }, RUN_MS + 10_000);
  },
);

describe.skipIf(peerMissing(!!which('caddy'), 'caddy (apt-get install caddy)'))('servers: URLs of a server already running (Caddy on loopback)', () => {
  let caddy: RunningCaddy;
  let caFile: string;
  /** n bytes of the pattern bench's own /bytes/<n> sends (i mod 251), written as Caddy's files. */
  const pattern = (n: number) => Uint8Array.from({ length: n }, (_, i) => i % 251);
  const scenario = (name: string, size: string, protocols: string[]) =>
    writeScenario(
      tmp,
      `${name}.yaml`,
      [
        `name: ${name}`,
        `protocols: [${protocols.join(', ')}]`,
        'repetitions: 1',
        'servers:',
        ...protocols.map((p) => `  ${p}: https://127.0.0.1:${caddy.port}`),
        `  ca: ${caFile}`,
        'workloads:',
        `  - {type: requests, requests: 30, size: ${size}}`,
        '',
      ].join('\n'),
    );

  beforeAll(async () => {
    const cert = await generateCertificate();
    caFile = path.join(tmp, 'external-ca.pem');
    writeFileSync(caFile, cert.caPem);
    // The warm-up's sizes (1000, 50000) and the workload's; nothing else.
    caddy = await startCaddy({ certPem: cert.certPem, keyPem: cert.keyPem, files: { 'bytes/1000': pattern(1000), 'bytes/50000': pattern(50_000), 'bytes/10000': pattern(10_000) } });
  }, 30_000);
  afterAll(async () => {
    await caddy?.stop();
  });

  it('every protocol goes to the URL (Caddy answers each: its Server header), server CPU is unavailable, not 0', async () => {
    const outDir = path.join(tmp, 'external-out');
    const run = await runBench(['run', scenario('external', '10KB', ['h1', 'h2', 'h3'])], outDir, 90_000);
    expect(run.code, run.stderr).toBe(0);
    const result = resultOf(outDir);
    for (const p of ['h1', 'h2', 'h3'] as const) {
      expect(result.servers?.[p], p).toEqual({ kind: 'external', name: `external https://127.0.0.1:${caddy.port}`, url: `https://127.0.0.1:${caddy.port}`, serverHeader: 'Caddy', cpu: 'unavailable', ...(p !== 'h3' && { altSvc: expect.stringContaining(`:${caddy.port}`) }) });
    }
    for (const cell of result.cells) {
      expect(cell.requests, cell.protocol).toMatchObject({ ok: 30, failed: 0, bytes: 300_000 });
      expect(cell.serverCpuMs, `${cell.protocol}: not 0, not measured`).toBeUndefined();
    }
    expect(result.warnings.map((w) => w.code)).toContain('SERVER_CPU_UNAVAILABLE');
    expect(readFileSync(path.join(outDir, 'summary.md'), 'utf8')).toContain(`HTTP/1.1, HTTP/2, HTTP/3: external https://127.0.0.1:${caddy.port} (Server: Caddy)`);
  }, 100_000);

  it('a route the server does not have ends the run before any cell: exit 2 naming the target and the path', async () => {
    const outDir = path.join(tmp, 'missing-route-out');
    const run = await runBench(['run', scenario('missing-route', '20KB', ['h2'])], outDir, 60_000);
    expect(run.code, run.stderr).toBe(2);
    expect(run.stderr).toContain(`error: h2 target https://127.0.0.1:${caddy.port}: GET /bytes/20000 answered 404, expected 200`);
    expect(existsSync(outDir), 'run directory').toBe(false);
  }, 70_000);
});

describe.skipIf(peerMissing(!!which('caddy'), 'caddy (apt-get install caddy)'))('a server started from a command ends with the run', () => {
  const CADDYFILE = path.join(ROOT, 'servers/examples/caddy/Caddyfile');
  /** Cells of a few seconds each, so the run is still going after its first. */
  const long = (name: string) =>
    writeScenario(
      tmp,
      `${name}.yaml`,
      [
        `name: ${name}`,
        'protocols: [h1, h2]',
        'repetitions: 3',
        'network: none',
        'servers:',
        '  command: caddy run --config {{config}} --adapter caddyfile',
        `  config: ${CADDYFILE}`,
        'workloads: [{type: requests, requests: 3000, size: 1KB}]',
        '',
      ].join('\n'),
    );

  async function afterFirstCell(name: string): Promise<{ run: BenchRun; outDir: string; command: string }> {
    const outDir = path.join(tmp, name);
    const run = startBench(['run', long(name)], outDir);
    await waitForCellEnds(run, 1, 90_000);
    const command = renderedCommand(outDir);
    expect(processesRunning(command), 'the server while the run goes on').toHaveLength(1);
    return { run, outDir, command };
  }

  it('SIGINT mid-run: exit 130, the server stopped, finished cells kept', async () => {
    const { run, outDir, command } = await afterFirstCell('command-sigint');
    run.child.kill('SIGINT');
    expect(await withTimeout(run.exited, 30_000, 'runner exit after SIGINT'), run.stderr()).toBe(130);
    expect(processesRunning(command), 'server processes').toEqual([]);
    expect(existsSync(scratchDirOf(command)), 'scratch dir').toBe(false);
    const result = resultOf(outDir);
    expect(result.run.status).toBe('partial');
    expect(result.cells.filter((c) => !c.error).length).toBeGreaterThanOrEqual(1);
    expect(result.servers?.h1?.kind).toBe('command');
  }, 150_000);

  it('the server killed mid-run: exit 3 naming its command, finished cells kept', async () => {
    const { run, outDir, command } = await afterFirstCell('command-killed');
    const pid = allProcesses().find((p) => p.argv.join(' ') === command)!.pid;
    process.kill(pid, 'SIGKILL');
    expect(await withTimeout(run.exited, 30_000, 'runner exit after the server died'), run.stderr()).toBe(3);
    expect(run.stderr()).toMatch(/internal error: the server command exited \(SIGKILL\): caddy run --config \S+ --adapter caddyfile/);
    const result = resultOf(outDir);
    expect(result.run.status).toBe('partial');
    expect(result.run.error).toMatch(/the server command exited \(SIGKILL\)/);
  }, 150_000);
});

describe('servers bench cannot use: exit 2 naming them, nothing left behind', () => {
  it('a dead external target (nothing listens on its port)', async () => {
    const file = writeScenario(
      tmp,
      'dead.yaml',
      ['name: dead-target', 'protocols: [h1, h2]', 'repetitions: 1', 'servers:', '  h1: https://127.0.0.1:9', '  h2: https://127.0.0.1:9', '  insecure: true', 'workloads: [{type: requests, requests: 20}]', ''].join('\n'),
    );
    const outDir = path.join(tmp, 'dead-out');
    const run = await runBench(['run', file], outDir, 60_000);
    expect(run.code, run.stderr).toBe(2);
    expect(run.stderr).toMatch(/^error: h1 target https:\/\/127\.0\.0\.1:9 does not answer: .*ECONNREFUSED.*fix `servers\.h1`/m);
    expect(run.stderr).not.toMatch(/\n\s+at /);
    expect(existsSync(outDir), 'run directory').toBe(false);
  }, 70_000);

  /** The sleeper is the command's child and must not survive it (one process group, stopped whole). */
  async function earlyExit(network: string): Promise<void> {
    const marker = `${4000 + Math.floor(Math.random() * 1000)}.25`;
    const file = writeScenario(
      tmp,
      'early.yaml',
      [
        'name: early-exit',
        'protocols: [h1, h2]',
        'repetitions: 1',
        network,
        'servers:',
        `  command: 'sleep ${marker} & echo starting on {{port.h2}}; echo "bind: permission denied" >&2; exit 3'`,
        'workloads: [{type: requests, requests: 20}]',
        '',
      ].join('\n'),
    );
    const nsBefore = new Set(namespaces());
    const outDir = path.join(tmp, 'early-out');
    const run = await runBench(['run', file], outDir, 90_000);
    expect(run.code, run.stderr).toBe(2);
    expect(run.stderr).toMatch(/^error: the server command exited \(code 3\): sleep [\d.]+ & echo starting on \d+; echo "bind: permission denied" >&2; exit 3$/m);
    expect(run.stderr).toContain('    starting on ');
    expect(run.stderr).toContain('    bind: permission denied');
    expect(run.stderr).not.toMatch(/\n\s+at /);
    expect(await eventually(() => processesRunning(`sleep ${marker}`), 2000), "the command's child").toEqual([]);
    expect(namespaces().filter((n) => !nsBefore.has(n)), 'new namespaces').toEqual([]);
    expect(existsSync(outDir), 'run directory').toBe(false);
  }

  it('a command that exits at once, on plain loopback: its command line and last output, its children gone', () => earlyExit('network: none'), 100_000);

  it.skipIf(peerMissing(isRoot(), 'root (this case runs the command in the server namespace)'))(
    'a command that exits at once, behind the shaped link: its command line and last output, its children gone',
    () => earlyExit('network: {backend: userspace, link: {delay: 5ms}}'),
    100_000,
  );

  it('a command that daemonises (exits 0 at once): says it must stay in the foreground', async () => {
    const file = writeScenario(tmp, 'daemon.yaml', ['name: daemon', 'protocols: [h2]', 'repetitions: 1', 'servers:', '  command: "true"', 'workloads: [{type: requests}]', ''].join('\n'));
    const outDir = path.join(tmp, 'daemon-out');
    const run = await runBench(['run', file], outDir, 60_000);
    expect(run.code, run.stderr).toBe(2);
    expect(run.stderr).toMatch(/the server command exited \(code 0\): true \(it printed nothing\)\nA server command must stay in the foreground/);
    expect(existsSync(outDir), 'run directory').toBe(false);
  }, 70_000);
});
