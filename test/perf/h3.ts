/**
 * HTTP/3 performance on loopback, next to HTTP/2 and next to Caddy's HTTP/3, measured in the same
 * run and interleaved (h3, h2, caddy; then rotated) so machine drift hits all alike:
 *   - requests/s: `requests` small GETs (100-byte bodies) at `concurrency` on ONE connection;
 *   - goodput: one 10 MiB download on a fresh connection, body bytes / (done - sent).
 * Our servers run in a child process (servers/process.ts, as in a real run); the client drivers
 * run here, so client and server each get a core.
 *
 *   node --import tsx test/perf/h3.ts [--runs 5] [--requests 10000] [--concurrency 50] [--json]
 */
import { pathToFileURL } from 'node:url';
import { getDriver } from '../../src/drivers/index.ts';
import type { ClientSession, Protocol, Target } from '../../src/drivers/types.ts';
import { generateCertificate, type GeneratedCertificate } from '../../src/tls/cert.ts';
import { startCaddy, type RunningCaddy } from '../interop/caddy.ts';
import { which } from '../support/peers.ts';
import { startServerProcess } from './server-process.ts';

export type Stack = 'h3' | 'h2' | 'h3-caddy';

export interface H3PerfOptions {
  runs?: number;
  requests?: number;
  concurrency?: number;
  downloadBytes?: number;
  /** Include Caddy's HTTP/3 server when `caddy` is installed (default true). */
  caddy?: boolean;
}

export interface H3PerfRow {
  stack: Stack;
  metric: 'requests/s' | 'goodput Mbit/s';
  median: number;
  /** One value per run, in run order. */
  values: number[];
  /** median / the H2 median of the same metric (same run). */
  ratioToH2?: number;
  note?: string;
}

const SMALL = 100;
const DEFAULTS = { runs: 5, requests: 10_000, concurrency: 50, downloadBytes: 10 * 1024 * 1024 } as const;

async function requestsPerSecond(session: ClientSession, path: string, total: number, concurrency: number): Promise<number> {
  let next = 0;
  let failed = 0;
  const worker = async () => {
    while (next < total) {
      next++;
      const r = await session.request({ path });
      if (r.error || r.status !== 200) failed++;
    }
  };
  // Warm-up: connection windows, JIT.
  for (let i = 0; i < 200; i++) await session.request({ path });
  const t0 = performance.now();
  await Promise.all(Array.from({ length: concurrency }, worker));
  const seconds = (performance.now() - t0) / 1000;
  if (failed > 0) throw new Error(`${failed} of ${total} requests failed`);
  return total / seconds;
}

async function goodputMbps(session: ClientSession, path: string, bytes: number): Promise<number> {
  const r = await session.request({ path });
  if (r.error || r.bytes !== bytes) throw new Error(`download failed: ${r.error ?? `${r.bytes} of ${bytes} bytes`}`);
  return (r.bytes * 8) / ((r.done - (r.sent ?? r.queued)) * 1000);
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export async function runH3Perf(options: H3PerfOptions = {}): Promise<H3PerfRow[]> {
  const given = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined));
  const o = { ...DEFAULTS, ...given } as Required<Omit<H3PerfOptions, 'caddy'>>;
  const cert = await generateCertificate();
  const server = await startServerProcess(cert, ['h2', 'h3']);
  let caddy: RunningCaddy | undefined;
  try {
    if (options.caddy !== false && which('caddy')) {
      caddy = await startCaddy({
        certPem: cert.certPem,
        keyPem: cert.keyPem,
        files: { 'small.bin': Buffer.alloc(SMALL, 7), 'big.bin': Buffer.alloc(o.downloadBytes, 9) },
      });
    }
    const stacks: Stack[] = caddy ? ['h3', 'h2', 'h3-caddy'] : ['h3', 'h2'];
    const target = (stack: Stack): Target => ({
      host: '127.0.0.1',
      port: stack === 'h3-caddy' ? caddy!.port : server.ports[stack as Protocol]!,
      servername: 'localhost',
      ca: cert.caPem,
    });
    const paths = (stack: Stack) =>
      stack === 'h3-caddy' ? { small: '/small.bin', big: '/big.bin' } : { small: `/bytes/${SMALL}`, big: `/bytes/${o.downloadBytes}` };
    const rps = new Map<Stack, number[]>(stacks.map((s) => [s, []]));
    const goodput = new Map<Stack, number[]>(stacks.map((s) => [s, []]));
    for (let run = 0; run < o.runs; run++) {
      const order = stacks.map((_, i) => stacks[(i + run) % stacks.length]!);
      for (const stack of order) {
        const driver = await getDriver(stack === 'h2' ? 'h2' : 'h3');
        const s1 = await driver.connect(target(stack));
        rps.get(stack)!.push(await requestsPerSecond(s1, paths(stack).small, o.requests, o.concurrency));
        await s1.close();
        const s2 = await driver.connect(target(stack));
        goodput.get(stack)!.push(await goodputMbps(s2, paths(stack).big, o.downloadBytes));
        await s2.close();
      }
    }
    const rows: H3PerfRow[] = [];
    for (const [metric, table] of [
      ['requests/s', rps],
      ['goodput Mbit/s', goodput],
    ] as const) {
      const h2 = median(table.get('h2')!);
      for (const stack of stacks) {
        const values = table.get(stack)!;
        rows.push({ stack, metric, median: median(values), values, ratioToH2: median(values) / h2 });
      }
    }
    return rows;
  } finally {
    await caddy?.stop();
    await server.stop();
  }
}

export function formatRows(rows: H3PerfRow[]): string {
  const lines = ['stack       metric            median    x H2   runs'];
  for (const r of rows) {
    lines.push(
      `${r.stack.padEnd(11)} ${r.metric.padEnd(16)} ${r.median.toFixed(0).padStart(8)}  ${(r.ratioToH2 ?? 0).toFixed(2).padStart(5)}   ${r.values.map((v) => v.toFixed(0)).join(' ')}`,
    );
  }
  return lines.join('\n');
}

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const rows = await runH3Perf({
    runs: arg('runs') ? Number(arg('runs')) : undefined,
    requests: arg('requests') ? Number(arg('requests')) : undefined,
    concurrency: arg('concurrency') ? Number(arg('concurrency')) : undefined,
  });
  console.log(process.argv.includes('--json') ? JSON.stringify(rows, null, 2) : formatRows(rows));
  process.exit(0);
}
