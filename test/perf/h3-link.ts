/**
 * Is an HTTP/3 verdict the protocol's or our stack's? Behind the same shaped link (100 ms RTT,
 * no loss, no rate limit: nothing on the path queues), the multiplex workload (100 concurrent
 * 10 KB requests on one connection, several rounds) runs with bench's own HTTP/2 and HTTP/3
 * servers in one run, then Caddy's HTTP/2 and HTTP/3 (Go, quic-go) in the next, then our HTTP/3
 * with `scheduling: round-robin` in a third; this repeats `--pairs` times, alternating, so machine
 * drift falls on all. Printed as ratios:
 *
 *   h3VsH2          our HTTP/3 p50 / our HTTP/2 p50 (same run)           aim <= 1.10
 *   h3VsCaddyH3     our HTTP/3 p50 / Caddy's HTTP/3 p50 (adjacent runs)  aim <= 1.10
 *                   ours with `scheduling: round-robin` here, since quic-go's streams take turns
 *                   (bench's default, sequential, would end half the responses sooner)
 *   senderRttVsPath our H3 server's smoothed RTT / the path's RTT         aim <= 1.10
 *   h3CpuVsH2       our H3 server CPU per request / our H2 server's       aim <= 3
 *   caddyH3CpuVsH2  Caddy's H3 (quic-go) server CPU per request / its H2's  reference: what
 *                   another stack's HTTP/3 costs against its HTTP/2 on the same link
 *   h3CpuVsCaddyH3  our H3 server CPU per request / Caddy's H3's          reference
 *
 *   node --import tsx test/perf/h3-link.ts [--pairs 2] [--repetitions 3] [--pacing default|on|off|quiche] [--json]
 * Needs root (namespaces) and Debian's caddy (without it the Caddy ratio is left out, said so).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { median } from '../../src/metrics/stats.ts';
import type { Cell, RunResult } from '../../src/results/model.ts';
import { which } from '../support/peers.ts';
import { CADDY_SERVERS, multiplexScenario, runBench } from './bench-runs.ts';

const PATH_RTT_MS = 100;

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : fallback;
}

function scenario(name: string, protocols: string[], repetitions: number, pacing: string, servers?: string, scheduling?: string): string {
  return multiplexScenario({
    name,
    description: `multiplex behind a loss-free ${PATH_RTT_MS} ms path (npm run perf -- h3-link)`,
    protocols,
    repetitions,
    oneWayDelayMs: PATH_RTT_MS / 2,
    requests: 100,
    size: '10KB',
    rounds: 5,
    pacing: pacing === 'default' ? undefined : pacing,
    servers,
    scheduling,
  });
}

const ok = (cells: Cell[]) => cells.filter((c) => !c.error);
const p50 = (result: RunResult, protocol: string) => median(ok(result.cells.filter((c) => c.protocol === protocol)).map((c) => c.metrics.latency!.p50));
const cpuPerRequest = (result: RunResult, protocol: string) =>
  median(ok(result.cells.filter((c) => c.protocol === protocol)).map((c) => (c.serverCpuMs ?? NaN) / Math.max(1, c.requests.ok)));

/** Per protocol over runs: the median packets the link delivered in a round's first round trip (multiplex details). */
const transfers = (runs: RunResult[], protocol: string) =>
  runs.flatMap((r) => ok(r.cells.filter((c) => c.protocol === protocol)).flatMap((c) => c.details?.multiplex?.packetsPerRoundTrip ?? []));
const firstRoundTrip = (runs: RunResult[], protocol: string) => median(transfers(runs, protocol).map((t) => t[0]!)).toFixed(0);
const roundTrips = (runs: RunResult[], protocol: string) => median(transfers(runs, protocol).map((t) => t.length)).toFixed(0);

interface Ratio {
  name: string;
  value: number;
  /** Absent: a reference figure, no aim. */
  aim?: number;
  /** One value per pair. */
  values: number[];
  detail: string;
}

function main(): void {
  const pairs = Number(arg('pairs', '2'));
  const repetitions = Number(arg('repetitions', '3'));
  const pacing = arg('pacing', 'default');
  const caddy = which('caddy') !== undefined;
  const dir = mkdtempSync(path.join(tmpdir(), 'bench-h3-link-'));
  const ours: RunResult[] = [];
  const theirs: RunResult[] = [];
  const oursTakingTurns: RunResult[] = [];
  try {
    for (let i = 0; i < pairs; i++) {
      ours.push(runBench(dir, `ours-${i}`, scenario(`h3-link-ours-${i}`, ['h2', 'h3'], repetitions, pacing)).result);
      if (caddy) {
        theirs.push(runBench(dir, `caddy-${i}`, scenario(`h3-link-caddy-${i}`, ['h2', 'h3'], repetitions, 'default', CADDY_SERVERS)).result);
        oursTakingTurns.push(runBench(dir, `ours-rr-${i}`, scenario(`h3-link-ours-rr-${i}`, ['h3'], repetitions, pacing, undefined, 'round-robin')).result);
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const srtt = (r: RunResult) =>
    median(r.cells.filter((c) => c.protocol === 'h3').flatMap((c) => (c.serverQuic ?? []).map((s) => s.srttMs ?? NaN)).filter(Number.isFinite));
  const ratios: Ratio[] = [];
  const add = (name: string, aim: number | undefined, values: number[], detail: string) =>
    ratios.push({ name, value: median(values), aim, values, detail });
  add('h3VsH2', 1.1, ours.map((r) => p50(r, 'h3') / p50(r, 'h2')), `p50 ms h3 ${ours.map((r) => p50(r, 'h3').toFixed(0)).join(' ')}; h2 ${ours.map((r) => p50(r, 'h2').toFixed(0)).join(' ')}`);
  if (caddy) {
    add(
      'h3VsCaddyH3',
      1.1,
      oursTakingTurns.map((r, i) => p50(r, 'h3') / p50(theirs[i]!, 'h3')),
      `p50 ms ours h3 round-robin ${oursTakingTurns.map((r) => p50(r, 'h3').toFixed(0)).join(' ')}; caddy h3 ${theirs.map((r) => p50(r, 'h3').toFixed(0)).join(' ')}; ` +
        `packets in the first round trip (the initial window): ours h3 ${firstRoundTrip(ours, 'h3')}, h2 ${firstRoundTrip(ours, 'h2')}, caddy h3 ${firstRoundTrip(theirs, 'h3')}; ` +
        `round trips per round: ours h3 ${roundTrips(ours, 'h3')}, caddy h3 ${roundTrips(theirs, 'h3')}`,
    );
  }
  add('senderRttVsPath', 1.1, ours.map((r) => srtt(r) / PATH_RTT_MS), `our h3 server's smoothed RTT ms ${ours.map((r) => srtt(r).toFixed(0)).join(' ')}`);
  add('h3CpuVsH2', 3, ours.map((r) => cpuPerRequest(r, 'h3') / cpuPerRequest(r, 'h2')), `server CPU ms/request h3 ${ours.map((r) => cpuPerRequest(r, 'h3').toFixed(2)).join(' ')}; h2 ${ours.map((r) => cpuPerRequest(r, 'h2').toFixed(2)).join(' ')}`);
  if (caddy) {
    add('caddyH3CpuVsH2', undefined, theirs.map((r) => cpuPerRequest(r, 'h3') / cpuPerRequest(r, 'h2')), `Caddy server CPU ms/request h3 ${theirs.map((r) => cpuPerRequest(r, 'h3').toFixed(2)).join(' ')}; h2 ${theirs.map((r) => cpuPerRequest(r, 'h2').toFixed(2)).join(' ')}`);
    add('h3CpuVsCaddyH3', undefined, ours.map((r, i) => cpuPerRequest(r, 'h3') / cpuPerRequest(theirs[i]!, 'h3')), 'server CPU per request, our HTTP/3 / Caddy\'s (adjacent runs)');
  }

  if (process.argv.includes('--json')) {
    const json: Record<string, unknown> = Object.fromEntries(ratios.map((r) => [r.name, Number(r.value.toFixed(3))]));
    json.detail = ratios;
    json.pacing = pacing;
    if (!caddy) json.caddy = 'not installed: h3VsCaddyH3 left out';
    console.log(JSON.stringify(json, null, 2));
    return;
  }
  console.log(`multiplex, 100 x 10 KB, ${PATH_RTT_MS} ms RTT loss-free, pacing ${pacing}; ${pairs} pair(s) of runs x ${repetitions} repetitions; medians over pairs`);
  for (const r of ratios) {
    const verdict = r.aim === undefined ? 'reference' : `aim <= ${r.aim}, ${r.value <= r.aim ? 'ok' : 'ABOVE AIM'}`;
    console.log(`${r.name.padEnd(16)} ${r.value.toFixed(2).padStart(5)}  (${verdict}; pairs ${r.values.map((v) => v.toFixed(2)).join(' ')})  ${r.detail}`);
  }
  if (!caddy) console.log('caddy is not installed: the Caddy ratio is left out (apt-get install caddy)');
}

main();
