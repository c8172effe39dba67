/**
 * Probes for qdiscs, made in a throwaway namespace so the host's qdiscs are never touched.
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
 * Adds each qdisc to the loopback of a new namespace and reports, per kind, the kernel's answer.
 * The namespace is named with our prefix and an owner record, so a killed probe is cleaned up too.
 */
export async function probeQdiscs<K extends ProbedQdisc>(
  kinds: readonly K[],
  exec: CommandRunner = getRunner(),
): Promise<Record<K, ProbeResult>> {
  const runId = `probe${process.pid}x${randomBytes(3).toString('hex')}`;
  const ns = `${NETNS_PREFIX}${runId}-c`;
  const out = {} as Record<K, ProbeResult>;
  writeOwnerRecord({ runId, pid: process.pid, namespaces: [ns], createdAt: new Date().toISOString() });
  try {
    await createNamespace(exec, ns);
    for (const kind of kinds) {
      const r = await exec.run(['tc', '-n', ns, 'qdisc', 'add', 'dev', 'lo', 'root', 'handle', '1:', ...QDISC_PROBES[kind]], { check: false });
      out[kind] = r.exitCode === 0
        ? { ok: true, detail: `tc qdisc add ... ${kind} works` }
        : { ok: false, detail: r.stderr.trim() || `tc exited ${r.exitCode}` };
      if (r.exitCode === 0) await exec.run(['tc', '-n', ns, 'qdisc', 'del', 'dev', 'lo', 'root'], { check: false });
    }
  } catch (e) {
    for (const kind of kinds) out[kind] ??= { ok: false, detail: `could not create a probe namespace: ${(e as Error).message}` };
  } finally {
    await deleteNamespace(exec, ns).catch(() => undefined);
    removeOwnerRecord(runId);
  }
  return out;
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
