/**
 * Does the client hold many connections and streams at once? On loopback, against bench's own
 * servers (a child process), the requests workload runs here, in this process, with
 *   - h1: 1,000 concurrent connections (100 pools of 10), 1,000 requests in flight;
 *   - h2, h3: 10,000 concurrent streams (100 connections x 100 streams).
 * Printed per run: requests/s, errors by kind, latency p50/p99, connections opened, and this
 * process's peak RSS and peak open file descriptors (/proc/self/fd), sampled every 100 ms, next
 * to the file-descriptor limit (the soft limit is raised to the hard one when it is too low).
 *
 *   node --import tsx test/perf/scale.ts [--protocols h1,h2,h3] [--rounds 3] [--json]
 * (rounds: measured requests per concurrent slot, so h1 sends 3,000 and h2/h3 30,000 by default,
 * after one unmeasured request per slot that opens every connection).
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { getDriver } from '../../src/drivers/index.ts';
import type { Protocol } from '../../src/drivers/types.ts';
import { generateCertificate } from '../../src/tls/cert.ts';
import { monoMs } from '../../src/util/clock.ts';
import { requestsWorkload, type RequestsSpec } from '../../src/workloads/requests.ts';
import type { LinkControl } from '../../src/workloads/types.ts';
import { startServerProcess } from './server-process.ts';

interface Shape {
  connections: number;
  h1PoolSize: number;
  concurrency: number;
  what: string;
}

const SHAPES: Record<Protocol, Shape> = {
  h1: { connections: 100, h1PoolSize: 10, concurrency: 1000, what: '1,000 connections x 1 request' },
  h2: { connections: 100, h1PoolSize: 1, concurrency: 10_000, what: '100 connections x 100 streams' },
  h3: { connections: 100, h1PoolSize: 1, concurrency: 10_000, what: '100 connections x 100 streams' },
};
const SIZE = 1024;
const REQUEST_TIMEOUT_MS = 60_000;

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : fallback;
}

function openFds(): number {
  return readdirSync('/proc/self/fd').length;
}

function fdLimit(): { soft: number; hard: number } {
  const line = readFileSync('/proc/self/limits', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('Max open files'))!;
  const [soft, hard] = line.split(/\s+/).slice(3, 5).map((v) => (v === 'unlimited' ? Infinity : Number(v)));
  return { soft: soft!, hard: hard! };
}

/**
 * Node cannot call setrlimit itself; util-linux's prlimit sets this process's soft limit to the hard
 * one (no privilege needed). Children started afterwards (the server) inherit it.
 */
function ensureFdLimit(needed: number): { before: number; after: number; hard: number; note?: string } {
  const { soft, hard } = fdLimit();
  if (soft >= needed) return { before: soft, after: soft, hard };
  try {
    execFileSync('prlimit', ['--pid', String(process.pid), `--nofile=${hard}:${hard}`]);
  } catch (error) {
    return { before: soft, after: soft, hard, note: `could not raise it (${String(error)}); ulimit -n ${needed} first` };
  }
  const after = fdLimit().soft;
  return { before: soft, after, hard, note: after < needed ? `the hard limit ${hard} is below the ${needed} needed: raise it (ulimit -Hn) as root` : undefined };
}

/** Peak RSS and open descriptors while a run lasts. */
class Peaks {
  rssMb = 0;
  fds = 0;
  private readonly timer: NodeJS.Timeout;
  constructor() {
    this.sample();
    this.timer = setInterval(() => this.sample(), 100);
  }
  private sample(): void {
    this.rssMb = Math.max(this.rssMb, process.memoryUsage.rss() / 2 ** 20);
    this.fds = Math.max(this.fds, openFds());
  }
  stop(): void {
    this.sample();
    clearInterval(this.timer);
  }
}

const noLink: LinkControl = {
  applyPhase: () => Promise.reject(new Error('no link on loopback')),
  routeVia: () => Promise.reject(new Error('no link on loopback')),
  restore: () => Promise.resolve(),
  drops: () => Promise.resolve([]),
  deliveries: () => Promise.resolve(undefined),
  counters: () => Promise.reject(new Error('no link on loopback')),
  usage: () => Promise.reject(new Error('no link on loopback')),
};

async function main(): Promise<void> {
  const protocols = arg('protocols', 'h1,h2,h3').split(',') as Protocol[];
  const rounds = Number(arg('rounds', '3'));
  const json = process.argv.includes('--json');
  const log = (line: string) => (json ? process.stderr : process.stdout).write(line + '\n');
  // Client sockets, the server's (same machine, inherited limit) and a margin for the runtime.
  const needed = Math.max(...protocols.map((p) => SHAPES[p].connections * SHAPES[p].h1PoolSize)) + 200;
  const limit = ensureFdLimit(needed);
  if (limit.note) log(`file descriptors: ${limit.note}`);
  const cert = await generateCertificate();
  const server = await startServerProcess(cert, protocols);
  const rows: Array<Record<string, unknown>> = [];
  try {
    for (const protocol of protocols) {
      const shape = SHAPES[protocol];
      const spec: RequestsSpec = {
        type: 'requests',
        name: 'scale',
        requests: rounds * shape.concurrency,
        concurrency: shape.concurrency,
        connections: shape.connections,
        h1PoolSize: shape.h1PoolSize,
        sizes: [SIZE],
        // One request per slot first, unmeasured: every connection is open before the measured ones.
        warmup: shape.concurrency,
      };
      global.gc?.();
      const before = { rssMb: process.memoryUsage.rss() / 2 ** 20, fds: openFds() };
      const peaks = new Peaks();
      let events = 0;
      const t0 = monoMs();
      const result = await requestsWorkload.run({
        protocol,
        driver: await getDriver(protocol),
        target: { host: '127.0.0.1', port: server.ports[protocol]!, servername: 'localhost', ca: cert.caPem },
        spec,
        repetition: 0,
        baseRttMs: 0,
        clientAddresses: {},
        pathDelays: {},
        requestTimeoutMs: REQUEST_TIMEOUT_MS,
        emit: () => events++,
        link: noLink,
        signal: new AbortController().signal,
      });
      const wallMs = monoMs() - t0;
      peaks.stop();
      const latency = result.metrics.latency;
      const row = {
        protocol,
        shape: shape.what,
        requests: result.requests.total,
        ok: result.requests.ok,
        errors: result.requests.failed,
        failedBy: result.requests.failedBy,
        connectionsOpened: result.connections.opened,
        requestsPerSec: Math.round(result.requests.ok / (result.durationMs / 1000)),
        latencyMs: latency ? { p50: Number(latency.p50.toFixed(1)), p99: Number(latency.p99.toFixed(1)), max: Number(latency.max.toFixed(1)) } : undefined,
        wallMs: Math.round(wallMs),
        rssMb: { before: Math.round(before.rssMb), peak: Math.round(peaks.rssMb) },
        openFds: { before: before.fds, peak: peaks.fds },
        events,
      };
      rows.push(row);
      log(
        `${protocol} ${shape.what}: ${row.ok}/${row.requests} ok, ${row.errors} errors${row.errors ? ` ${JSON.stringify(row.failedBy)}` : ''}, ` +
          `${row.connectionsOpened} connections, ${row.requestsPerSec} req/s, p50 ${row.latencyMs?.p50} ms p99 ${row.latencyMs?.p99} ms; ` +
          `RSS ${row.rssMb.before} -> peak ${row.rssMb.peak} MB, open fds ${row.openFds.before} -> peak ${row.openFds.peak}`,
      );
    }
  } finally {
    await server.stop();
  }
  const fd = { softBefore: limit.before, softNow: limit.after, hard: limit.hard, ...(limit.note && { note: limit.note }) };
  if (json) console.log(JSON.stringify({ runs: rows, fdLimit: fd, responseBytes: SIZE }, null, 2));
  else console.log(`file-descriptor limit: soft ${fd.softBefore}${fd.softNow !== fd.softBefore ? ` raised to ${fd.softNow}` : ''}, hard ${fd.hard}`);
}

await main();
process.exit(0);
