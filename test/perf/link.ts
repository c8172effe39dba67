/**
 * Capacity of the userspace link: packets/s it forwards while its scheduler's p99 lateness stays under
 * 1 ms, beside a plain veth path between two namespaces (no emulation) measured the same way in the
 * same run.
 *
 * Traffic: one UDP flow (1200-byte IP packets by default) from the client to the server namespace,
 * paced at each offered rate for a few seconds, counted by a sink. The link delays every packet by
 * 1 ms, so its scheduler holds (rate x 1 ms) packets at a time. Each repetition steps the offered rate
 * up until two steps in a row fail (< 99% delivered or p99 lateness >= 1 ms) or the sender falls below
 * 90% of the offered rate (the generator's limit: the capacity is then a lower bound, flagged
 * generatorBound); its capacity is the highest forwarded rate of a step that passed. Repetitions
 * alternate which path goes first; the figures are medians over them, with their range.
 *
 *   npm run perf -- link [--reps 3] [--steps 20000,40000,..] [--seconds 1.5] [--payload 1172]
 *                        [--delay-ms 1] [--batch-us N] [--json] [--cpu-prof DIR]
 *
 * --json prints {"linkPps","vethPps","ratio","linkP99LatenessMs","linkCpuCores","linkCpuUsPerPacket", ...}.
 */
import { randomBytes } from 'node:crypto';
import { loadavg } from 'node:os';
import { pathToFileURL } from 'node:url';
import { DIRECTION_DEFAULTS, type NetworkSpec } from '../../netem/model.ts';
import { createVethBackend } from '../../netem/kernel/backend.ts';
import { createShapedTopology, type ShapedTopology } from '../../netem/topology.ts';
import { createUserspaceBackend, type UserspaceLinkBackend } from '../../netem/userspace/index.ts';
import { startAgent } from '../../netem/userspace/probe/run-agent.ts';

type PathKind = 'veth' | 'link';

export interface CapacityStep {
  path: PathKind;
  rep: number;
  offeredPps: number;
  sent: number;
  received: number;
  /** Packets per second the sender achieved (below offered = the generator, not the path, was the limit). */
  sentPps: number;
  /** Received packets per second of sending time. */
  forwardedPps: number;
  deliveredFraction: number;
  latenessP50Ms?: number;
  latenessP99Ms?: number;
  latenessMaxMs?: number;
  /** CPU the link process used per second of sending time (1 = one core). */
  linkCpuCores?: number;
  /** CPU time of the link process per packet forwarded (microseconds). */
  linkCpuUsPerPacket?: number;
  wakeLateP99Ms?: number;
  yieldMaxMs?: number;
  passed: boolean;
  /** The sender reached less than 90% of the offered rate: the generator, not the path, was the limit. */
  generatorBound?: boolean;
  /** Why the step failed. */
  failed?: string;
}

export interface RepCapacity {
  rep: number;
  path: PathKind;
  /** Highest forwarded rate of a passing step (0: none passed). */
  pps: number;
  latenessP99Ms?: number;
  linkCpuCores?: number;
  linkCpuUsPerPacket?: number;
  /** The capacity step was limited by the generator: the path's capacity is at least pps. */
  generatorBound: boolean;
}

export interface Spread {
  median: number;
  min: number;
  max: number;
}

export interface CapacityReport {
  /** Median over repetitions of the userspace link's capacity (p99 lateness < 1 ms, >= 99% delivered). */
  linkPps: number;
  /** Median over repetitions of the veth path's capacity (>= 99% delivered). */
  vethPps: number;
  /** linkPps / vethPps. */
  ratio: number;
  /** Median of the link's p99 scheduler lateness at its capacity step. */
  linkP99LatenessMs: number;
  /** Median CPU share of the link process (1 = one core) at its capacity step. */
  linkCpuCores: number;
  /** Median CPU time of the link per packet at its capacity step (microseconds). */
  linkCpuUsPerPacket: number;
  spread: { linkPps: Spread; vethPps: Spread; ratio: Spread; linkP99LatenessMs: Spread; linkCpuCores: Spread; linkCpuUsPerPacket: Spread };
  /** Highest rate the traffic generator reached: a capacity near it is a lower bound. */
  generatorMaxPps: number;
  reps: RepCapacity[];
  steps: CapacityStep[];
  settings: { reps: number; seconds: number; ipBytes: number; delayMs: number; batchUs?: number; stepsPps: number[] };
  /** Load average (1 min) when the run started and ended: the machine is shared. */
  load: { start: number; end: number };
}

export interface CapacityOptions {
  reps?: number;
  steps?: number[];
  seconds?: number;
  /** UDP payload bytes (IP packet = payload + 28). */
  payloadBytes?: number;
  delayMs?: number;
  /** The link's batching window (UserspaceBackendOptions.batchUs); unset = the link's default. */
  batchUs?: number;
  log?: (line: string) => void;
  /** Profile the userspace link process (--cpu-prof) into this directory. */
  cpuProfDir?: string;
}

const PORT = 9100;
const UDP_IP_OVERHEAD = 28;

function spec(delayMs: number): Extract<NetworkSpec, { kind: 'shaped' }> {
  const d = { ...DIRECTION_DEFAULTS, delayMs };
  return { kind: 'shaped', backend: 'userspace', mtu: 1500, congestionControl: 'cubic', paths: [{ name: 'primary', up: d, down: d }], phases: [] };
}

interface Opts {
  steps: number[];
  seconds: number;
  payloadBytes: number;
  log: (line: string) => void;
}

async function measureStep(path: PathKind, rep: number, pps: number, topo: ShapedTopology, link: UserspaceLinkBackend | undefined, opts: Opts): Promise<CapacityStep> {
  const count = Math.round(pps * opts.seconds);
  const sink = await startAgent(topo.namespaces.server, {
    mode: 'reflect', bind: topo.serverAddress, port: PORT, echo: false, durationMs: opts.seconds * 1000 + 60_000, idleStopMs: 1000, record: false,
  });
  await link?.stats(true);
  const before = await link?.stats(false);
  const sender = await startAgent(topo.namespaces.client, {
    mode: 'send', bind: topo.clientAddresses.primary!, target: topo.serverAddress, port: PORT, count, pps, payloadBytes: opts.payloadBytes, drainMs: 0, record: false,
  });
  const s = await sender.result;
  const after = await link?.stats(false);
  const r = await sink.result;
  const sendSeconds = (s.endedAt - s.startedAt) / 1000;
  const step: CapacityStep = {
    path,
    rep,
    offeredPps: pps,
    sent: s.sent,
    sentPps: Math.round(s.sent / sendSeconds),
    received: r.received,
    forwardedPps: Math.round(r.received / sendSeconds),
    deliveredFraction: r.received / s.sent,
    passed: true,
  };
  if (after && before) {
    step.latenessP50Ms = after.lateness.p50Ms;
    step.latenessP99Ms = after.lateness.p99Ms;
    step.latenessMaxMs = after.lateness.maxMs;
    // The link is idle before the sender starts and after its last packet: its CPU share is taken
    // over the sending time (its 1 ms delay aside), and per packet forwarded.
    step.linkCpuCores = (after.cpuMs - before.cpuMs) / (sendSeconds * 1000);
    step.linkCpuUsPerPacket = r.received > 0 ? ((after.cpuMs - before.cpuMs) * 1000) / r.received : undefined;
    step.wakeLateP99Ms = after.wakeLateP99Ms;
    step.yieldMaxMs = after.yieldMaxMs;
  }
  if (step.deliveredFraction < 0.99) step.failed = `delivered ${(step.deliveredFraction * 100).toFixed(2)}%`;
  else if ((step.latenessP99Ms ?? 0) >= 1) step.failed = `p99 lateness ${step.latenessP99Ms} ms`;
  step.passed = step.failed === undefined;
  step.generatorBound = step.sentPps < 0.9 * pps;
  return step;
}

/** Steps the offered rate up until two steps in a row fail; the highest forwarded rate of a passing step. */
async function ramp(path: PathKind, rep: number, topo: ShapedTopology, link: UserspaceLinkBackend | undefined, opts: Opts, steps: CapacityStep[]): Promise<RepCapacity> {
  let best: CapacityStep | undefined;
  let failures = 0;
  for (const pps of opts.steps) {
    const step = await measureStep(path, rep, pps, topo, link, opts);
    opts.log(JSON.stringify(step));
    steps.push(step);
    // Two failures in a row end the ramp: one alone may be another process stalling the machine.
    if (!step.passed) {
      if (++failures >= 2) break;
      continue;
    }
    failures = 0;
    if (!best || step.forwardedPps > best.forwardedPps) best = step;
    // The generator cannot go faster: higher steps would measure it, not the path.
    if (step.generatorBound) break;
  }
  return { rep, path, pps: best?.forwardedPps ?? 0, latenessP99Ms: best?.latenessP99Ms, linkCpuCores: best?.linkCpuCores, linkCpuUsPerPacket: best?.linkCpuUsPerPacket, generatorBound: best?.generatorBound ?? false };
}

function spread(values: number[]): Spread {
  const v = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return { median: NaN, min: NaN, max: NaN };
  const mid = Math.floor(v.length / 2);
  const median = v.length % 2 ? v[mid]! : (v[mid - 1]! + v[mid]!) / 2;
  return { median, min: v[0]!, max: v[v.length - 1]! };
}

export async function measureLinkCapacity(options: CapacityOptions = {}): Promise<CapacityReport> {
  const reps = options.reps ?? 3;
  const opts: Opts = {
    steps: options.steps ?? [20_000, 30_000, 40_000, 50_000, 60_000, 70_000, 85_000, 100_000, 120_000, 150_000],
    seconds: options.seconds ?? 1.5,
    payloadBytes: options.payloadBytes ?? 1200 - UDP_IP_OVERHEAD,
    log: options.log ?? (() => undefined),
  };
  const delayMs = options.delayMs ?? 1;
  const loadStart = loadavg()[0]!;
  const nodeFlags = options.cpuProfDir ? ['--cpu-prof', `--cpu-prof-dir=${options.cpuProfDir}`] : [];
  const link = createUserspaceBackend({ nodeFlags, ...(options.batchUs !== undefined && { batchUs: options.batchUs }) });
  const runId = () => `perf-${randomBytes(3).toString('hex')}`;
  const vethTopo = await createShapedTopology(spec(0), { runId: runId(), linkBackend: createVethBackend() });
  let linkTopo: ShapedTopology | undefined;
  const steps: CapacityStep[] = [];
  const repResults: RepCapacity[] = [];
  try {
    linkTopo = await createShapedTopology(spec(delayMs), { runId: runId(), linkBackend: link });
    for (let rep = 1; rep <= reps; rep++) {
      // Alternate which path goes first, so drift of the machine falls on both alike.
      const order: PathKind[] = rep % 2 ? ['veth', 'link'] : ['link', 'veth'];
      for (const path of order) {
        repResults.push(await ramp(path, rep, path === 'veth' ? vethTopo : linkTopo, path === 'link' ? link : undefined, opts, steps));
      }
    }
  } finally {
    await linkTopo?.teardown();
    await vethTopo.teardown();
  }
  const of = (path: PathKind) => repResults.filter((r) => r.path === path);
  const ratios = of('link').map((l) => l.pps / (of('veth').find((v) => v.rep === l.rep)?.pps ?? NaN));
  const s = {
    linkPps: spread(of('link').map((r) => r.pps)),
    vethPps: spread(of('veth').map((r) => r.pps)),
    ratio: spread(ratios),
    linkP99LatenessMs: spread(of('link').map((r) => r.latenessP99Ms ?? NaN)),
    linkCpuCores: spread(of('link').map((r) => r.linkCpuCores ?? NaN)),
    linkCpuUsPerPacket: spread(of('link').map((r) => r.linkCpuUsPerPacket ?? NaN)),
  };
  return {
    linkPps: s.linkPps.median,
    vethPps: s.vethPps.median,
    ratio: s.linkPps.median / s.vethPps.median,
    linkP99LatenessMs: s.linkP99LatenessMs.median,
    linkCpuCores: s.linkCpuCores.median,
    linkCpuUsPerPacket: s.linkCpuUsPerPacket.median,
    spread: s,
    generatorMaxPps: Math.max(0, ...steps.map((x) => x.sentPps)),
    reps: repResults,
    steps,
    settings: { reps, seconds: opts.seconds, ipBytes: opts.payloadBytes + UDP_IP_OVERHEAD, delayMs, batchUs: options.batchUs, stepsPps: opts.steps },
    load: { start: loadStart, end: loadavg()[0]! },
  };
}

const f = (x: number | undefined, d: number, w: number) => (x === undefined || !Number.isFinite(x) ? '-' : x.toFixed(d)).padStart(w);

function table(r: CapacityReport): string {
  const rows = r.steps.map((s) =>
    [s.path.padEnd(5), String(s.rep).padStart(3), f(s.offeredPps, 0, 8), f(s.sentPps, 0, 8), f(s.forwardedPps, 0, 9), f(s.deliveredFraction * 100, 2, 8) + '%',
      f(s.latenessP50Ms, 3, 8), f(s.latenessP99Ms, 3, 8), f(s.linkCpuCores, 2, 5), s.failed ?? (s.generatorBound ? 'generator-bound' : '')].join('  '));
  const sp = (x: Spread, d = 0) => `${x.median.toFixed(d)} (${x.min.toFixed(d)}-${x.max.toFixed(d)})`;
  return [
    'path   rep   offered      sent  forwarded  delivered  p50 late  p99 late    cpu',
    ...rows,
    `link ${sp(r.spread.linkPps)} packets/s at p99 lateness ${sp(r.spread.linkP99LatenessMs, 3)} ms, link CPU ${sp(r.spread.linkCpuCores, 2)} cores, ${sp(r.spread.linkCpuUsPerPacket, 1)} us/packet; ` +
      `veth ${sp(r.spread.vethPps)} packets/s; ratio ${sp(r.spread.ratio, 2)} (median (min-max) of ${r.settings.reps} repetitions, ${r.settings.ipBytes}-byte packets); ` +
      `generator reached ${r.generatorMaxPps}/s; load ${r.load.start.toFixed(1)} -> ${r.load.end.toFixed(1)}`,
  ].join('\n');
}

async function main(argv: string[]): Promise<void> {
  const arg = (name: string) => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const num = (name: string) => (arg(name) !== undefined ? Number(arg(name)) : undefined);
  const json = argv.includes('--json');
  const report = await measureLinkCapacity({
    reps: num('--reps'),
    steps: arg('--steps')?.split(',').map(Number),
    seconds: num('--seconds'),
    payloadBytes: num('--payload'),
    delayMs: num('--delay-ms'),
    batchUs: num('--batch-us'),
    cpuProfDir: arg('--cpu-prof'),
    log: (l) => console.error(l),
  });
  console.log(json ? JSON.stringify(report) : table(report));
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main(process.argv.slice(2)).catch((e) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
  });
}
