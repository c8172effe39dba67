/**
 * Probes for kernel features, made in a throwaway namespace so the host is never touched.
 */
import { randomBytes } from 'node:crypto';
import type { CommandRunner } from '../exec.ts';
import { getRunner } from '../exec.ts';
import { NETNS_PREFIX, createNamespace, deleteNamespace } from '../namespaces.ts';
import { removeOwnerRecord, writeOwnerRecord } from '../cleanup.ts';

export interface ProbeResult {
  ok: boolean;
  /** What worked, or the kernel's own error. */
  detail: string;
}

/** Qdisc kinds and minimal parameters that prove they work. */
export const QDISC_PROBES = {
  netem: ['netem', 'delay', '1ms'],
  tbf: ['tbf', 'rate', '1mbit', 'burst', '3028', 'limit', '30000'],
  htb: ['htb', 'default', '1'],
} as const;
export type ProbedQdisc = keyof typeof QDISC_PROBES;

/**
 * Runs `fn` with a new namespace named with our prefix (and an owner record, so a killed probe is
 * cleaned up like a run), deleting it afterwards. Throws when the namespace cannot be created.
 */
export async function withThrowawayNamespace<T>(exec: CommandRunner, fn: (ns: string) => Promise<T>): Promise<T> {
  const runId = `probe${process.pid}x${randomBytes(3).toString('hex')}`;
  const ns = `${NETNS_PREFIX}${runId}-c`;
  writeOwnerRecord({ runId, pid: process.pid, namespaces: [ns], createdAt: new Date().toISOString() });
  try {
    await createNamespace(exec, ns);
    return await fn(ns);
  } finally {
    await deleteNamespace(exec, ns).catch(() => undefined);
    removeOwnerRecord(runId);
  }
}

async function probeQdiscIn(exec: CommandRunner, ns: string, kind: ProbedQdisc): Promise<ProbeResult> {
  const r = await exec.run(['tc', '-n', ns, 'qdisc', 'add', 'dev', 'lo', 'root', 'handle', '1:', ...QDISC_PROBES[kind]], { check: false });
  if (r.exitCode !== 0) return { ok: false, detail: r.stderr.trim() || `tc exited ${r.exitCode}` };
  await exec.run(['tc', '-n', ns, 'qdisc', 'del', 'dev', 'lo', 'root'], { check: false });
  return { ok: true, detail: `tc qdisc add ... ${kind} works` };
}

/** Adds each qdisc to the loopback of a throwaway namespace and reports, per kind, the kernel's answer. */
export async function probeQdiscs<K extends ProbedQdisc>(
  kinds: readonly K[],
  exec: CommandRunner = getRunner(),
): Promise<Record<K, ProbeResult>> {
  const out = {} as Record<K, ProbeResult>;
  try {
    await withThrowawayNamespace(exec, async (ns) => {
      for (const kind of kinds) out[kind] = await probeQdiscIn(exec, ns, kind);
    });
  } catch (e) {
    for (const kind of kinds) out[kind] ??= { ok: false, detail: `could not create a probe namespace: ${(e as Error).message}` };
  }
  return out;
}

export interface KernelFeatures extends Record<ProbedQdisc, ProbeResult> {
  namespaces: ProbeResult;
  veth: ProbeResult;
}

/** Everything the kernel backend needs, probed in one throwaway namespace (for bench doctor). */
export async function probeKernelFeatures(exec: CommandRunner = getRunner()): Promise<KernelFeatures> {
  const fail = (detail: string): ProbeResult => ({ ok: false, detail });
  try {
    return await withThrowawayNamespace(exec, async (ns) => {
      const v = await exec.run(['ip', '-n', ns, 'link', 'add', 'vprobe0', 'type', 'veth', 'peer', 'name', 'vprobe1'], { check: false });
      return {
        namespaces: { ok: true, detail: 'ip netns add works' },
        veth: v.exitCode === 0 ? { ok: true, detail: 'veth pair created' } : fail(v.stderr.trim() || `exit ${v.exitCode}`),
        netem: await probeQdiscIn(exec, ns, 'netem'),
        tbf: await probeQdiscIn(exec, ns, 'tbf'),
        htb: await probeQdiscIn(exec, ns, 'htb'),
      };
    });
  } catch (e) {
    const why = `no namespace: ${(e as Error).message}`;
    return { namespaces: fail((e as Error).message), veth: fail(why), netem: fail(why), tbf: fail(why), htb: fail(why) };
  }
}

let netemCache: Promise<ProbeResult> | undefined;

/** Whether this kernel has tc netem (sch_netem), with the kernel's error when it has not. Cached per process. */
export function probeNetem(exec: CommandRunner = getRunner(), opts: { fresh?: boolean } = {}): Promise<ProbeResult> {
  if (!netemCache || opts.fresh) {
    netemCache = probeQdiscs(['netem'], exec).then((r) =>
      r.netem.ok ? r.netem : { ok: false, detail: `tc netem unavailable: ${r.netem.detail}` },
    );
  }
  return netemCache;
}
