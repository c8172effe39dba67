/**
 * Capacity of the userspace link: packets/s it forwards while its scheduler's p99 lateness stays under
 * 1 ms, beside a plain veth path (no emulation) measured in the same run with the same traffic.
 *
 * Traffic: one UDP flow of small packets (64-byte payload, 92-byte IP packets) from the client to the
 * server namespace, paced at each offered rate for a few seconds, counted by a sink. The link delays
 * every packet by 10 ms, so the scheduler holds (rate x 10 ms) packets at a time.
 *
 *   node --import tsx test/perf/link.ts [--steps 10000,20000,50000] [--seconds 2] [--json] [--cpu-prof DIR]
 */
import { randomBytes } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import { DIRECTION_DEFAULTS, type NetworkSpec } from '../../netem/model.ts';
import { createShapedTopology } from '../../netem/topology.ts';
import { createVethBackend } from '../../netem/kernel/backend.ts';
import type { LinkBackend } from '../../netem/backend.ts';
import { createUserspaceBackend, type UserspaceLinkBackend } from '../../netem/userspace/index.ts';
import { startAgent } from '../../netem/userspace/probe/run-agent.ts';

export interface CapacityStep {
  backend: 'veth' | 'userspace';
  offeredPps: number;
  sent: number;
  received: number;
  /** Packets per second the sender achieved (below offered = the generator, not the link, was the limit). */
  sentPps: number;
  /** Received packets per second of sending time. */
  forwardedPps: number;
  deliveredFraction: number;
  latenessP50Ms?: number;
  latenessP99Ms?: number;
  latenessMaxMs?: number;
  /** CPU the link process used per second of wall time (1 = one core). */
  linkCpuCores?: number;
  wakeLateP99Ms?: number;
  yieldMaxMs?: number;
}

export interface CapacityReport {
  steps: CapacityStep[];
  /** Highest rate the userspace link forwarded with >= 99% delivered and p99 lateness < 1 ms. */
  userspaceCapacityPps: number;
  /** Highest rate the veth path forwarded with >= 99% delivered. */
  vethCapacityPps: number;
  /** Highest rate the traffic generator reached: a capacity near it is a lower bound. */
  generatorMaxPps: number;
}

export interface CapacityOptions {
  steps?: number[];
  seconds?: number;
  delayMs?: number;
  log?: (line: string) => void;
  /** Profile the userspace link process (--cpu-prof) into this directory. */
  cpuProfDir?: string;
}

const PORT = 9100;

function spec(delayMs: number): Extract<NetworkSpec, { kind: 'shaped' }> {
  const d = { ...DIRECTION_DEFAULTS, delayMs };
  return { kind: 'shaped', backend: 'userspace', mtu: 1500, congestionControl: 'cubic', paths: [{ name: 'primary', up: d, down: d }], phases: [] };
}

async function measureBackend(name: 'veth' | 'userspace', opts: Required<Omit<CapacityOptions, 'cpuProfDir'>> & { cpuProfDir?: string }): Promise<CapacityStep[]> {
  const nodeFlags = opts.cpuProfDir ? ['--cpu-prof', `--cpu-prof-dir=${opts.cpuProfDir}`] : [];
  const backend: LinkBackend = name === 'veth' ? createVethBackend() : createUserspaceBackend({ nodeFlags });
  const userspace = name === 'userspace' ? (backend as UserspaceLinkBackend) : undefined;
  const topo = await createShapedTopology(spec(name === 'veth' ? 0 : opts.delayMs), { runId: `perf-${randomBytes(3).toString('hex')}`, linkBackend: backend });
  const steps: CapacityStep[] = [];
  try {
    for (const pps of opts.steps) {
      const count = Math.round(pps * opts.seconds);
      const sink = await startAgent(topo.namespaces.server, {
        mode: 'reflect', bind: topo.serverAddress, port: PORT, echo: false, durationMs: opts.seconds * 1000 + 60_000, idleStopMs: 1000, record: false,
      });
      await userspace?.stats(true);
      const before = await userspace?.stats(false);
      const sender = await startAgent(topo.namespaces.client, {
        mode: 'send', bind: topo.clientAddresses.primary!, target: topo.serverAddress, port: PORT, count, pps, payloadBytes: 64, drainMs: 0, record: false,
      });
      const s = await sender.result;
      const r = await sink.result;
      const after = await userspace?.stats(false);
      const sendSeconds = (s.endedAt - s.startedAt) / 1000;
      const step: CapacityStep = {
        backend: name,
        offeredPps: pps,
        sent: s.sent,
        sentPps: Math.round(s.sent / sendSeconds),
        received: r.received,
        forwardedPps: Math.round(r.received / sendSeconds),
        deliveredFraction: r.received / s.sent,
      };
      if (after && before) {
        step.latenessP50Ms = after.lateness.p50Ms;
        step.latenessP99Ms = after.lateness.p99Ms;
        step.latenessMaxMs = after.lateness.maxMs;
        step.linkCpuCores = (after.cpuMs - before.cpuMs) / (after.uptimeMs - before.uptimeMs);
        step.wakeLateP99Ms = after.wakeLateP99Ms;
        step.yieldMaxMs = after.yieldMaxMs;
      }
      opts.log(JSON.stringify(step));
      steps.push(step);
    }
  } finally {
    await topo.teardown();
  }
  return steps;
}

export async function measureLinkCapacity(options: CapacityOptions = {}): Promise<CapacityReport> {
  const opts = {
    steps: options.steps ?? [5_000, 10_000, 20_000, 35_000, 50_000, 75_000, 100_000],
    seconds: options.seconds ?? 2,
    delayMs: options.delayMs ?? 10,
    log: options.log ?? (() => undefined),
    cpuProfDir: options.cpuProfDir,
  };
  const veth = await measureBackend('veth', opts);
  const userspace = await measureBackend('userspace', opts);
  const ok = (s: CapacityStep) => s.deliveredFraction >= 0.99;
  const steps = [...veth, ...userspace];
  return {
    steps,
    vethCapacityPps: Math.max(0, ...veth.filter(ok).map((s) => s.forwardedPps)),
    userspaceCapacityPps: Math.max(0, ...userspace.filter((s) => ok(s) && (s.latenessP99Ms ?? Infinity) < 1).map((s) => s.forwardedPps)),
    generatorMaxPps: Math.max(0, ...steps.map((s) => s.sentPps)),
  };
}

function table(r: CapacityReport): string {
  const rows = r.steps.map((s) =>
    [s.backend.padEnd(9), String(s.offeredPps).padStart(8), String(s.sentPps).padStart(8), String(s.forwardedPps).padStart(9), (s.deliveredFraction * 100).toFixed(2).padStart(7) + '%',
      s.latenessP50Ms?.toFixed(3).padStart(8) ?? '       -', s.latenessP99Ms?.toFixed(3).padStart(8) ?? '       -', s.linkCpuCores?.toFixed(2).padStart(6) ?? '     -'].join('  '));
  return [
    'backend     offered     sent  forwarded  delivered  p50 late  p99 late   cpu',
    ...rows,
    `capacity: userspace ${r.userspaceCapacityPps} packets/s (p99 lateness < 1 ms, >= 99% delivered); veth ${r.vethCapacityPps} packets/s; generator reached ${r.generatorMaxPps} packets/s`,
  ].join('\n');
}

async function main(argv: string[]): Promise<void> {
  const arg = (name: string) => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const steps = arg('--steps')?.split(',').map(Number);
  const seconds = arg('--seconds') ? Number(arg('--seconds')) : undefined;
  const json = argv.includes('--json');
  const report = await measureLinkCapacity({ steps, seconds, cpuProfDir: arg('--cpu-prof'), log: json ? undefined : (l) => console.error(l) });
  console.log(json ? JSON.stringify(report, null, 2) : table(report));
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main(process.argv.slice(2)).catch((e) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
  });
}
