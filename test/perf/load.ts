/**
 * Is bench's load generator ever the bottleneck? On loopback (`network: none`), 1 KiB responses,
 * 100 requests in flight, the most requests/s of our H1 and H2 clients (`bench run`, the load
 * workload's closed loop at concurrency 100 for `--duration`: the whole product path, IPC to the
 * runner and raw.jsonl included) next to h2load (C, one thread) with the same connections and
 * streams, and next to autocannon for H1 (pipelining 1), against the same server: bench's own
 * (servers/process.ts) and Debian's Caddy. Our client runs three times: with its default client and with `client: library`, on one client worker (the
 * default, `clientWorkers: 1`) and spread over several (`clientWorkers: N`, worker processes).
 * Every client runs in turn against servers started once; the order rotates per round, so drift
 * falls on all alike.
 *
 *   h1: 100 connections x 1 request (10 pools of 10)  h2load --h1 -c 100 -m 1 / autocannon -c 100 -p 1
 *   h2: 10 connections x 10 streams                   h2load -c 10 -m 10
 *
 *   h1VsH2load, h2VsH2load, h1VsAutocannon   our requests/s (one worker, the default client) / theirs in the same round, median over rounds
 *   h1LibraryVsH2load, h2LibraryVsH2load, h1LibraryVsAutocannon, h1VsLibrary, h2VsLibrary   the same for `client: library`
 *     (undici, node:http2), and the default client / library; bench-* is the default (`lean`: HTTP/1.1 and HTTP/2 by hand)
 *   h1WorkersVsH2load, h2WorkersVsH2load, h1WorkersVsAutocannon   the same with `workers` client workers
 *   h1WorkersVsOne, h2WorkersVsOne           several workers / one, same round
 *
 * CPU share = process CPU time / wall time of the measurement (ours: the load step's window), for
 * the client and the server: on 2 cores client and server compete, so a share near 100% names the
 * bottleneck (a client on N workers can use N cores). CPU µs per request (and h1CpuVsH2load ... in
 * --json: ours / theirs) is the efficiency behind the rates, the figure a machine shared with
 * other work disturbs least; ours counts the client process and its workers over the step.
 *
 *   node --import tsx test/perf/load.ts [--rounds 3] [--requests 20000] [--duration 3] [--workers N]
 *     [--no-caddy] [--baseline <checkout>] (its client too, one worker, in the same rotation: before/after in one run)
 *     [--cpu-prof <dir>] (BENCH_CPU_PROFILE_DIR: our client process writes its V8 CPU profile there) [--json]
 * --requests: per h2load measurement; --duration: seconds of our load step (autocannon runs at
 * least 5 s). --workers: default what `clientWorkers: auto` chooses on this machine, at least 2.
 * autocannon: from the project's node_modules, else BENCH_AUTOCANNON=<path to autocannon.js>.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { median } from '../../src/metrics/stats.ts';
import type { Protocol } from '../../src/drivers/types.ts';
import { loadDetails } from '../../src/results/details.ts';
import type { RunResult } from '../../src/results/model.ts';
import { generateCertificate } from '../../src/tls/cert.ts';
import { monoMs } from '../../src/util/clock.ts';
import { patternByte } from '../../servers/handler.ts';
import { startCaddy, type RunningCaddy } from '../interop/caddy.ts';
import { which } from '../support/peers.ts';
import { ROOT } from './bench-runs.ts';
import { startServerProcess, type ServerProcess } from './server-process.ts';

const SIZE = 1024;
const PATH = `/bytes/${SIZE}`;
const IN_FLIGHT = 100;
const H1_POOLS = 10;
const H2_CONNECTIONS = 10;
const H2_STREAMS = IN_FLIGHT / H2_CONNECTIONS;

type ServerName = 'bench' | 'caddy';
type ClientName =
  | 'bench-h1' | 'bench-h2' | 'library-h1' | 'library-h2' | 'workers-h1' | 'workers-h2' | 'baseline-h1' | 'baseline-h2' | 'h2load-h1' | 'h2load-h2' | 'autocannon-h1';
/**
 * Our client as measured: the default client (`lean`: HTTP/1.1 and HTTP/2 by hand) on one worker, the
 * `library` client (undici, node:http2) on one worker, the default on several, or a baseline
 * checkout's (one worker, its default).
 */
type Ours = 'bench' | 'library' | 'workers' | 'baseline';
/** One slot of the rotation: each of ours measures h1 and h2 in one `bench run`. */
type Slot = Ours | 'h2load-h1' | 'h2load-h2' | 'autocannon-h1';

interface Measurement {
  server: ServerName;
  client: ClientName;
  round: number;
  requestsPerSec: number;
  ok: number;
  errors: number;
  clientCpuShare: number;
  serverCpuShare: number;
  /** Ours: the `bench run` process's own CPU during the step (it shares the machine with the server). */
  runnerCpuShare?: number;
  /** CPU µs per completed request: what a busy machine changes least. */
  clientCpuUsPerRequest: number;
  serverCpuUsPerRequest: number;
  /** Ours: the client workers the step ran on. */
  clientWorkers?: number;
}

interface Target {
  name: ServerName;
  pid: number;
  url: (protocol: Protocol) => string;
}

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : fallback;
}

const CLOCK_TICKS_PER_SEC = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;

/** Fields of /proc/<pid>/stat after the command name (which may hold spaces): [0] is the state. */
function statFields(pid: number | 'self'): number[] {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ').map(Number);
}

/** utime + stime of a process, in ms. */
function processCpuMs(pid: number): number {
  const f = statFields(pid);
  return ((f[11]! + f[12]!) * 1000) / CLOCK_TICKS_PER_SEC;
}

/** CPU of this process's children that have ended and been waited for (cutime + cstime), in ms. */
function reapedChildrenCpuMs(): number {
  const f = statFields('self');
  return ((f[13]! + f[14]!) * 1000) / CLOCK_TICKS_PER_SEC;
}

/** Samples a process's CPU time every 50 ms, so a window known only afterwards (a cell) can be read. */
class CpuSampler {
  private readonly samples: Array<[number, number]> = [];
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly pid: number) {
    this.sample();
    this.timer = setInterval(() => this.sample(), 50);
  }

  private sample(): void {
    if (this.gone) return;
    try {
      this.samples.push([monoMs(), processCpuMs(this.pid)]);
    } catch {
      this.gone = true; // the process ended: its last sample stands
      this.stop();
    }
  }

  private gone = false;

  /** CPU ms spent between two monoMs times (linear between samples). */
  between(from: number, to: number): number {
    return this.at(to) - this.at(from);
  }

  private at(t: number): number {
    const s = this.samples;
    if (t >= s[s.length - 1]![0]) this.sample();
    for (let i = 1; i < s.length; i++) {
      if (s[i]![0] >= t) {
        const [t0, c0] = s[i - 1]!;
        const [t1, c1] = s[i]!;
        return c0 + ((c1 - c0) * (t - t0)) / Math.max(1e-9, t1 - t0);
      }
    }
    return s[s.length - 1]![1];
  }

  stop(): void {
    clearInterval(this.timer);
  }
}

/** Runs a command to its end; its CPU comes from this process's reaped-children counters. */
async function runTool(
  command: string,
  args: string[],
  env?: NodeJS.ProcessEnv,
  onStart?: (pid: number) => void,
): Promise<{ stdout: string; stderr: string; cpuMs: number; wallMs: number; code: number | null }> {
  const cpuBefore = reapedChildrenCpuMs();
  const t0 = monoMs();
  const child = spawn(command, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  if (child.pid !== undefined) onStart?.(child.pid);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
  return { stdout, stderr, code, wallMs: monoMs() - t0, cpuMs: reapedChildrenCpuMs() - cpuBefore };
}

async function h2load(target: Target, protocol: 'h1' | 'h2', requests: number, sampler: CpuSampler): Promise<Omit<Measurement, 'round'>> {
  const args = protocol === 'h1' ? ['--h1', '-c', String(IN_FLIGHT), '-m', '1'] : ['-c', String(H2_CONNECTIONS), '-m', String(H2_STREAMS)];
  const t0 = monoMs();
  const r = await runTool('h2load', ['-n', String(requests), ...args, target.url(protocol) + PATH.slice(1)]);
  const t1 = monoMs();
  const rate = /finished in [\d.]+m?s, ([\d.]+) req\/s/.exec(r.stdout);
  const counts = /requests: \d+ total, \d+ started, \d+ done, (\d+) succeeded, (\d+) failed, (\d+) errored/.exec(r.stdout);
  const status2xx = /status codes: (\d+) 2xx/.exec(r.stdout);
  if (r.code !== 0 || !rate || !counts) throw new Error(`h2load failed (${r.code}):\n${r.stdout}\n${r.stderr}`);
  const ok = Number(status2xx?.[1] ?? counts[1]);
  const serverCpuMs = sampler.between(t0, t1);
  return {
    server: target.name,
    client: `h2load-${protocol}`,
    requestsPerSec: Number(rate[1]),
    ok,
    errors: requests - ok,
    clientCpuShare: r.cpuMs / r.wallMs,
    serverCpuShare: serverCpuMs / (t1 - t0),
    clientCpuUsPerRequest: (1000 * r.cpuMs) / ok,
    serverCpuUsPerRequest: (1000 * serverCpuMs) / ok,
  };
}

function autocannonScript(): string | undefined {
  if (process.env.BENCH_AUTOCANNON) return process.env.BENCH_AUTOCANNON;
  try {
    return createRequire(path.join(ROOT, 'package.json')).resolve('autocannon/autocannon.js');
  } catch {
    return undefined;
  }
}

/** autocannon runs for at least this long, and about as long as `requests` need at this pace. */
const AUTOCANNON_MIN_SECONDS = 5;
const AUTOCANNON_PACE_PER_SEC = 10_000;

async function autocannon(script: string, target: Target, requests: number, caFile: string, sampler: CpuSampler): Promise<Omit<Measurement, 'round'>> {
  const t0 = monoMs();
  // By duration, not by amount (-a): with -a autocannon ends on its next one-second tick after the
  // last answer, so a 1.3 s run counts as 2 s (seen: 20,000 requests gave exactly 20000/1.05 and
  // 20000/2.06 req/s). Long enough for about `requests` answers at h2load's pace.
  const seconds = Math.max(AUTOCANNON_MIN_SECONDS, Math.ceil(requests / AUTOCANNON_PACE_PER_SEC));
  const r = await runTool(process.execPath, [script, '-c', String(IN_FLIGHT), '-p', '1', '-d', String(seconds), '--json', target.url('h1') + PATH.slice(1)], {
    NODE_EXTRA_CA_CERTS: caFile,
  });
  const t1 = monoMs();
  if (r.code !== 0) throw new Error(`autocannon failed (${r.code}):\n${r.stderr.slice(-2000)}`);
  const out = JSON.parse(r.stdout.slice(r.stdout.indexOf('{'))) as { duration: number; errors: number; timeouts: number; non2xx: number; '2xx': number };
  const serverCpuMs = sampler.between(t0, t1);
  return {
    server: target.name,
    client: 'autocannon-h1',
    requestsPerSec: out['2xx'] / out.duration,
    ok: out['2xx'],
    errors: out.errors + out.timeouts + out.non2xx,
    clientCpuShare: r.cpuMs / r.wallMs,
    serverCpuShare: serverCpuMs / (t1 - t0),
    clientCpuUsPerRequest: (1000 * r.cpuMs) / out['2xx'],
    serverCpuUsPerRequest: (1000 * serverCpuMs) / out['2xx'],
  };
}

/** The load workload's one step: closed loop, IN_FLIGHT requesters. */
const STEP = `concurrency${IN_FLIGHT}`;

/** `clientWorkers`, `client` undefined: the key is left out, so a baseline checkout from before them reads the scenario. */
function scenario(name: string, target: Target, protocols: Protocol[], durationS: number, clientWorkers?: number, client?: 'library'): string {
  return [
    `name: ${name}`,
    `description: ${IN_FLIGHT} x ${SIZE} B in flight on loopback (npm run perf -- load)`,
    `protocols: [${protocols.join(', ')}]`,
    'repetitions: 1',
    'seed: 1',
    'network: none',
    'servers:',
    `  h1: ${target.url('h1').replace(/\/$/, '')}`,
    `  h2: ${target.url('h2').replace(/\/$/, '')}`,
    '  ca: ca.pem',
    'workloads:',
    '  - type: load',
    `    concurrency: ${IN_FLIGHT}`,
    `    duration: ${durationS}s`,
    // h2: 10 connections x 10 streams; h1: 10 pools x 10 connections, one request each.
    `    connections: ${H2_CONNECTIONS}`,
    `    h1PoolSize: ${IN_FLIGHT / H1_POOLS}`,
    `    size: ${SIZE}`,
    ...(clientWorkers !== undefined ? [`    clientWorkers: ${clientWorkers}`] : []),
    ...(client !== undefined ? [`    client: ${client}`] : []),
    'timeouts:',
    '  request: 30s',
    '  cell: 5m',
    '',
  ].join('\n');
}

/** Our client, the product path: `bench run` with the load workload, h1 and h2 in the given order; figures of the load step. */
async function benchRun(
  root: string,
  client: Ours,
  dir: string,
  name: string,
  target: Target,
  protocols: Protocol[],
  durationS: number,
  clientWorkers: number | undefined,
  sampler: CpuSampler,
  cpuProfDir: string | undefined,
): Promise<Array<Omit<Measurement, 'round'>>> {
  const file = path.join(dir, `${name}.yaml`);
  const outDir = path.join(dir, name);
  writeFileSync(file, scenario(name, target, protocols, durationS, clientWorkers, client === 'library' ? 'library' : undefined));
  const env = cpuProfDir ? { BENCH_CPU_PROFILE_DIR: cpuProfDir } : undefined;
  // The runner process (not its client): its CPU during the step is taken from the server's share of the cores.
  let runner: CpuSampler | undefined;
  const r = await runTool(process.execPath, [path.join(root, 'src/bin.mjs'), 'run', file, '--out', outDir, '--quiet'], env, (pid) => (runner = new CpuSampler(pid)));
  runner?.stop();
  if (r.code !== 0) throw new Error(`bench run ${name} failed (exit ${r.code}):\n${r.stderr.slice(-2000)}`);
  const result = JSON.parse(readFileSync(path.join(outDir, 'result.json'), 'utf8')) as RunResult;
  // The step's window on the shared monotonic clock (its first request handed in to its last
  // answer): the window of the server's CPU. The step's own figures give ours.
  const windows = new Map<Protocol, { start: number; end: number }>();
  for (const line of readFileSync(path.join(outDir, 'raw.jsonl'), 'utf8').split('\n')) {
    if (!line.startsWith('{"type":"request"') || !line.includes(`"phase":"${STEP}"`)) continue;
    const e = JSON.parse(line) as { protocol: Protocol; queued: number; done: number };
    const w = windows.get(e.protocol) ?? { start: Infinity, end: -Infinity };
    w.start = Math.min(w.start, e.queued);
    w.end = Math.max(w.end, e.done);
    windows.set(e.protocol, w);
  }
  rmSync(outDir, { recursive: true, force: true });
  return result.cells.map((cell) => {
    if (cell.error) throw new Error(`bench run ${name}: ${cell.protocol} cell failed: ${cell.error}`);
    const step = loadDetails(cell)?.steps.find((s) => s.metricPrefix === STEP);
    const w = windows.get(cell.protocol);
    if (!step || !w) throw new Error(`bench run ${name}: ${cell.protocol} has no ${STEP} step`);
    const serverCpuMs = sampler.between(w.start, w.end);
    const runnerCpuMs = runner?.between(w.start, w.end);
    return {
      server: target.name,
      client: `${client}-${cell.protocol}` as ClientName,
      requestsPerSec: step.achievedPerSec,
      ok: step.ok,
      errors: step.failed,
      clientCpuShare: step.clientCpuMs / step.windowMs,
      serverCpuShare: serverCpuMs / (w.end - w.start),
      clientCpuUsPerRequest: (1000 * step.clientCpuMs) / step.ok,
      serverCpuUsPerRequest: (1000 * serverCpuMs) / step.ok,
      clientWorkers: loadDetails(cell)?.clientWorkers ?? 1,
      runnerCpuShare: runnerCpuMs === undefined ? undefined : runnerCpuMs / (w.end - w.start),
    };
  });
}

interface Spread {
  median: number;
  min: number;
  max: number;
  values: number[];
}

const spread = (values: number[]): Spread => ({ median: median(values), min: Math.min(...values), max: Math.max(...values), values });
const round2 = (x: number) => Number(x.toFixed(2));
const round3 = (x: number) => Number(x.toFixed(3));

function uptime(): string {
  return `load average ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`;
}

async function main(): Promise<void> {
  const rounds = Number(arg('rounds', '3'));
  const requests = Number(arg('requests', '20000'));
  const durationS = Number(arg('duration', '3'));
  // What `clientWorkers: auto` chooses for this workload here (half the cores, at most the
  // connections), at least 2 so that the spread configuration differs from the default one.
  const workers = Number(arg('workers', String(Math.max(2, Math.min(Math.floor(availableParallelism() / 2), H2_CONNECTIONS)))));
  const cpuProf = process.argv.includes('--cpu-prof') ? path.resolve(arg('cpu-prof', 'cpu-prof')) : undefined;
  const json = process.argv.includes('--json');
  const log = (line: string) => (json ? process.stderr : process.stdout).write(line + '\n');
  if (!which('h2load')) throw new Error('h2load is needed (apt-get install nghttp2-client)');
  const acScript = autocannonScript();
  const useCaddy = !process.argv.includes('--no-caddy') && which('caddy') !== undefined;
  const baseline = process.argv.includes('--baseline') ? path.resolve(arg('baseline', '')) : undefined;

  const dir = mkdtempSync(path.join(tmpdir(), 'bench-perf-load-'));
  const cert = await generateCertificate();
  const caFile = path.join(dir, 'ca.pem');
  writeFileSync(caFile, cert.caPem);
  const loadBefore = uptime();
  let own: ServerProcess | undefined;
  let caddy: RunningCaddy | undefined;
  const samplers: CpuSampler[] = [];
  const measurements: Measurement[] = [];
  try {
    own = await startServerProcess(cert, ['h1', 'h2']);
    const ownPorts = own.ports;
    const targets: Target[] = [{ name: 'bench', pid: own.pid, url: (p) => `https://127.0.0.1:${ownPorts[p]}/` }];
    if (useCaddy) {
      // Ours and the runner's warm-up (1000 and 50,000 bytes) as files: bench checks them before a run.
      const files = Object.fromEntries([SIZE, 1000, 50_000].map((n) => [`bytes/${n}`, Buffer.from(Array.from({ length: n }, (_, i) => patternByte(i)))]));
      caddy = await startCaddy({ certPem: cert.certPem, keyPem: cert.keyPem, files });
      const port = caddy.port;
      targets.push({ name: 'caddy', pid: caddy.pid, url: () => `https://127.0.0.1:${port}/` });
    }
    const slots: Slot[] = ['bench', 'library', 'workers', ...(baseline ? (['baseline'] as const) : []), 'h2load-h1', 'h2load-h2', ...(acScript ? (['autocannon-h1'] as const) : [])];
    const rotate = <T>(xs: T[], n: number) => xs.map((_, i) => xs[(i + n) % xs.length]!);
    for (let round = 0; round < rounds; round++) {
      for (const target of rotate(targets, round)) {
        const sampler = new CpuSampler(target.pid);
        samplers.push(sampler);
        for (const slot of rotate(slots, round)) {
          const order: Protocol[] = round % 2 ? ['h2', 'h1'] : ['h1', 'h2'];
          const run = (root: string, slotWorkers?: number) =>
            benchRun(root, slot as Ours, dir, `load-${slot}-${target.name}-${round}`, target, order, durationS, slotWorkers, sampler, cpuProf);
          const got =
            slot === 'bench' || slot === 'library' || slot === 'workers' || slot === 'baseline'
              ? await run(slot === 'baseline' ? baseline! : ROOT, slot === 'workers' ? workers : undefined)
              : slot === 'autocannon-h1'
                ? [await autocannon(acScript!, target, requests, caFile, sampler)]
                : [await h2load(target, slot === 'h2load-h1' ? 'h1' : 'h2', requests, sampler)];
          for (const m of got) {
            measurements.push({ ...m, round });
            log(
              `round ${round + 1} ${target.name.padEnd(5)} ${m.client.padEnd(13)} ${m.requestsPerSec.toFixed(0).padStart(6)} req/s  errors ${m.errors}  client CPU ${(100 * m.clientCpuShare).toFixed(0)}%${m.clientWorkers && m.clientWorkers > 1 ? ` (${m.clientWorkers} workers)` : ''}  server CPU ${(100 * m.serverCpuShare).toFixed(0)}%${m.runnerCpuShare !== undefined ? `  runner CPU ${(100 * m.runnerCpuShare).toFixed(0)}%` : ''}  client ${m.clientCpuUsPerRequest.toFixed(0)} µs/req`,
            );
          }
        }
        sampler.stop();
      }
    }
  } finally {
    for (const s of samplers) s.stop();
    await caddy?.stop();
    await own?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  const loadAfter = uptime();

  const rate = (server: ServerName, client: ClientName, round: number) =>
    measurements.find((m) => m.server === server && m.client === client && m.round === round)?.requestsPerSec;
  const cpu = (server: ServerName, client: ClientName, round: number) =>
    measurements.find((m) => m.server === server && m.client === client && m.round === round)?.clientCpuUsPerRequest;
  const ratio = (server: ServerName, ours: ClientName, theirs: ClientName, of = rate): Spread | undefined => {
    const values: number[] = [];
    for (let round = 0; round < rounds; round++) {
      const a = of(server, ours, round);
      const b = of(server, theirs, round);
      if (a !== undefined && b !== undefined) values.push(a / b);
    }
    return values.length ? spread(values) : undefined;
  };
  // One worker keeps the keys the benchmark always had; `Workers` is the spread configuration.
  const ratios = (server: ServerName) => ({
    h1VsH2load: ratio(server, 'bench-h1', 'h2load-h1'),
    h2VsH2load: ratio(server, 'bench-h2', 'h2load-h2'),
    h1VsAutocannon: ratio(server, 'bench-h1', 'autocannon-h1'),
    h1LibraryVsH2load: ratio(server, 'library-h1', 'h2load-h1'),
    h2LibraryVsH2load: ratio(server, 'library-h2', 'h2load-h2'),
    h1LibraryVsAutocannon: ratio(server, 'library-h1', 'autocannon-h1'),
    h1VsLibrary: ratio(server, 'bench-h1', 'library-h1'),
    h2VsLibrary: ratio(server, 'bench-h2', 'library-h2'),
    h1WorkersVsH2load: ratio(server, 'workers-h1', 'h2load-h1'),
    h2WorkersVsH2load: ratio(server, 'workers-h2', 'h2load-h2'),
    h1WorkersVsAutocannon: ratio(server, 'workers-h1', 'autocannon-h1'),
    h1WorkersVsOne: ratio(server, 'workers-h1', 'bench-h1'),
    h2WorkersVsOne: ratio(server, 'workers-h2', 'bench-h2'),
    ...(baseline && { h1VsBaseline: ratio(server, 'bench-h1', 'baseline-h1'), h2VsBaseline: ratio(server, 'bench-h2', 'baseline-h2') }),
  });
  // Client CPU per request, ours / theirs (lower is better): the efficiency behind the rates.
  const cpuRatios = (server: ServerName) => ({
    h1CpuVsH2load: ratio(server, 'bench-h1', 'h2load-h1', cpu),
    h2CpuVsH2load: ratio(server, 'bench-h2', 'h2load-h2', cpu),
    h1CpuVsAutocannon: ratio(server, 'bench-h1', 'autocannon-h1', cpu),
    h1LibraryCpuVsH2load: ratio(server, 'library-h1', 'h2load-h1', cpu),
    h2LibraryCpuVsH2load: ratio(server, 'library-h2', 'h2load-h2', cpu),
    h2CpuVsLibrary: ratio(server, 'bench-h2', 'library-h2', cpu),
    h1WorkersCpuVsH2load: ratio(server, 'workers-h1', 'h2load-h1', cpu),
    h2WorkersCpuVsH2load: ratio(server, 'workers-h2', 'h2load-h2', cpu),
    h1WorkersCpuVsOne: ratio(server, 'workers-h1', 'bench-h1', cpu),
    h2WorkersCpuVsOne: ratio(server, 'workers-h2', 'bench-h2', cpu),
    ...(baseline && { h1CpuVsBaseline: ratio(server, 'bench-h1', 'baseline-h1', cpu), h2CpuVsBaseline: ratio(server, 'bench-h2', 'baseline-h2', cpu) }),
  });
  const servers: ServerName[] = caddy ? ['bench', 'caddy'] : ['bench'];
  const figures = servers.flatMap((server) =>
    (['bench-h1', 'library-h1', 'workers-h1', 'baseline-h1', 'h2load-h1', 'autocannon-h1', 'bench-h2', 'library-h2', 'workers-h2', 'baseline-h2', 'h2load-h2'] as ClientName[]).flatMap((client) => {
      const ms = measurements.filter((m) => m.server === server && m.client === client);
      if (!ms.length) return [];
      return [
        {
          server,
          client,
          requestsPerSec: spread(ms.map((m) => Math.round(m.requestsPerSec))),
          clientCpuShare: spread(ms.map((m) => round2(m.clientCpuShare))),
          serverCpuShare: spread(ms.map((m) => round2(m.serverCpuShare))),
          ...(ms.every((m) => m.runnerCpuShare !== undefined) && { runnerCpuShare: spread(ms.map((m) => round2(m.runnerCpuShare!))) }),
          clientCpuUsPerRequest: spread(ms.map((m) => Math.round(m.clientCpuUsPerRequest))),
          serverCpuUsPerRequest: spread(ms.map((m) => Math.round(m.serverCpuUsPerRequest))),
          errors: ms.reduce((a, m) => a + m.errors, 0),
        },
      ];
    }),
  );
  const setup = {
    network: 'none (loopback)',
    responseBytes: SIZE,
    requestsPerMeasurement: requests,
    measurements: `h2load: ${requests} requests; ours: a ${durationS} s load step (closed loop, ${IN_FLIGHT} requesters); autocannon: at least ${AUTOCANNON_MIN_SECONDS} s`,
    rounds,
    clientWorkers: `bench-*: 1 (the default); workers-*: ${workers} worker processes (clientWorkers: ${workers}); this machine has ${availableParallelism()} cores`,
    client: "bench-*, workers-*: the load workload's default client (`client: lean`: HTTP/1.1 and HTTP/2 by hand); library-*: `client: library` (undici, node:http2), one worker",
    ...(baseline && { baseline: `our client from ${baseline} (baseline-h1, baseline-h2), in the same rotation` }),
    h1: `${IN_FLIGHT} connections x 1 request (ours: ${H1_POOLS} pools of ${IN_FLIGHT / H1_POOLS}; h2load --h1 -c ${IN_FLIGHT} -m 1; autocannon -c ${IN_FLIGHT} -p 1)`,
    h2: `${H2_CONNECTIONS} connections x ${H2_STREAMS} streams (h2load -c ${H2_CONNECTIONS} -m ${H2_STREAMS})`,
    cpuShare: 'process CPU time / wall time of the measurement (1 = one core)',
    runnerCpuShare: "ours: the `bench run` process's own CPU during the load step (its client and workers are counted as the client)",
    cpuUsPerRequest: 'process CPU time per completed request, µs (ours: the load step, the client process and its workers; set-up and warm-up excluded)',
    loadBefore,
    loadAfter,
    ...(acScript ? {} : { autocannon: 'not installed: add autocannon to devDependencies (npm i), or set BENCH_AUTOCANNON' }),
    ...(caddy ? { caddy: caddy.version } : { caddy: 'left out (not installed or --no-caddy)' }),
  };
  const headline = (server: ServerName) =>
    Object.fromEntries(
      Object.entries(ratios(server))
        .filter(([, s]) => s !== undefined)
        .map(([k, s]) => [k, round3(s!.median)]),
    );
  if (json) {
    const spreads = (server: ServerName) =>
      Object.fromEntries(
        Object.entries({ ...ratios(server), ...cpuRatios(server) })
          .filter(([, s]) => s !== undefined)
          .map(([k, s]) => [k, { median: round3(s!.median), min: round3(s!.min), max: round3(s!.max), values: s!.values.map(round3) }]),
      );
    const out: Record<string, unknown> = { ...headline('bench'), workers };
    if (caddy) out.caddy = headline('caddy');
    out.ratios = Object.fromEntries(servers.map((s) => [s, spreads(s)]));
    out.figures = figures;
    out.setup = setup;
    console.log(JSON.stringify(out, null, 2));
    return;
  }
  console.log(`\n${setup.h1}\n${setup.h2}\n${SIZE} B responses; ${setup.measurements}; ${rounds} rounds; ${setup.clientWorkers}; ${setup.client}; ${loadBefore} -> ${loadAfter}`);
  console.log('server client          req/s median (min-max)    client CPU  server CPU  runner CPU  client µs/req  server µs/req  errors');
  for (const f of figures) {
    const r = f.requestsPerSec;
    console.log(
      `${f.server.padEnd(6)} ${f.client.padEnd(14)} ${String(r.median).padStart(7)} (${r.min}-${r.max})`.padEnd(46) +
        `${(100 * f.clientCpuShare.median).toFixed(0).padStart(5)}%     ${(100 * f.serverCpuShare.median).toFixed(0).padStart(5)}%` +
        `${f.runnerCpuShare ? `${(100 * f.runnerCpuShare.median).toFixed(0).padStart(10)}%` : '          -'}` +
        `${String(f.clientCpuUsPerRequest.median).padStart(14)} ${String(f.serverCpuUsPerRequest.median).padStart(14)}     ${f.errors}`,
    );
  }
  for (const server of servers) {
    for (const [name, s] of Object.entries(ratios(server))) {
      if (!s) continue;
      const spreadText = `${server.padEnd(6)} ${name.padEnd(21)} ${s.median.toFixed(2)} (${s.min.toFixed(2)}-${s.max.toFixed(2)})`;
      if (name.endsWith('Baseline')) {
        console.log(`${spreadText}  requests/s, ours / the baseline checkout's`);
        continue;
      }
      if (name.endsWith('VsLibrary')) {
        console.log(`${spreadText}  requests/s, the default client / client: library`);
        continue;
      }
      if (name.endsWith('VsOne')) {
        console.log(`${spreadText}  requests/s, ${workers} workers / one`);
        continue;
      }
      const aim = name.endsWith('VsAutocannon') ? 1 : 0.8;
      console.log(`${spreadText}  aim >= ${aim}: ${s.median >= aim ? 'ok' : 'BELOW AIM'}`);
    }
    for (const [name, s] of Object.entries(cpuRatios(server))) {
      if (s) console.log(`${server.padEnd(6)} ${name.padEnd(21)} ${s.median.toFixed(2)} (${s.min.toFixed(2)}-${s.max.toFixed(2)})  client CPU per request, ours / theirs`);
    }
  }
  if (!acScript) console.log(setup.autocannon);
}

await main();
process.exit(0);
