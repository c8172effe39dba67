/**
 * The link emulator's measured fidelity (bench doctor --measure) is kept on the machine, so every
 * run's result.json can carry the latest figures for the backend it used, with their date.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { KernelVerdict } from '../../netem/topology.ts';
import type { FidelityReport } from '../../netem/types.ts';

function cacheDir(): string {
  return process.env.BENCH_STATE_DIR ?? path.join(process.env.XDG_STATE_HOME ?? path.join(os.homedir(), '.local', 'state'), 'bench');
}

function fileFor(backend: string): string {
  return path.join(cacheDir(), `fidelity-${backend}.json`);
}

export function saveFidelity(report: FidelityReport): void {
  mkdirSync(cacheDir(), { recursive: true });
  const { backend, measuredAt, target, oneWayDelayMeanMs, jitterStdMs, loss, lossInterval95, rateBps, schedulerLatenessP99Ms, pass } = report;
  const slim: FidelityReport = { backend, measuredAt, target, oneWayDelayMeanMs, jitterStdMs, loss, lossInterval95, rateBps, schedulerLatenessP99Ms, pass };
  writeFileSync(fileFor(report.backend), JSON.stringify(slim, null, 1));
}

export function loadFidelity(backend: string): FidelityReport | undefined {
  try {
    return JSON.parse(readFileSync(fileFor(backend), 'utf8')) as FidelityReport;
  } catch {
    return undefined;
  }
}

/** Cached figures younger than this are reused; older ones are measured again. */
export const FIDELITY_MAX_AGE_MS = 7 * 24 * 3600 * 1000;
/**
 * A failed measurement is reused this long: a busy machine fails it again at once, and measuring
 * on every run would add its ~20 s to each.
 */
export const FAILED_FIDELITY_MAX_AGE_MS = 3600 * 1000;

/**
 * The fidelity of `backend` on this machine: the cached measurement when recent and within bounds,
 * else a fresh one (about 10 s, in its own namespaces) that is then cached.
 */
export async function fidelityFor(
  backend: 'kernel' | 'userspace',
  log: (line: string) => void,
): Promise<FidelityReport> {
  const cached = loadFidelity(backend);
  // A failed measurement is reused briefly only: the machine may have been busy; measure again later.
  const passed = cached !== undefined && Object.values(cached.pass).every(Boolean);
  const maxAge = passed ? FIDELITY_MAX_AGE_MS : FAILED_FIDELITY_MAX_AGE_MS;
  if (cached && Date.now() - Date.parse(cached.measuredAt) < maxAge) return cached;
  log(`measuring the ${backend} link's fidelity once for this machine (cached for 7 days; bench doctor --measure repeats it)`);
  const { measureFidelity } = await import('../../netem/fidelity.ts');
  const factory =
    backend === 'userspace'
      ? async () => (await import('../../netem/userspace/index.ts')).createUserspaceBackend()
      : async () => (await import('../../netem/kernel/backend.ts')).createKernelBackend({ dropLog: false });
  const instance = await factory();
  const measured = await measureFidelity(() => instance);
  saveFidelity(measured);
  return loadFidelity(backend) ?? measured;
}

/** Checks of a fidelity report that failed ([] = it passed). */
export function failedChecks(report: FidelityReport): string[] {
  return Object.entries(report.pass)
    .filter(([, ok]) => !ok)
    .map(([name]) => name);
}

/**
 * Whether `network.backend: auto` may use the kernel link here: only when its fidelity measurement on
 * this machine passed. The cached measurement is used while recent (fidelityFor); with none, the
 * link is measured now, once (`measure: false`, for bench doctor: then it is "not measured yet").
 */
export async function kernelVerdict(log: (line: string) => void, opts: { measure?: boolean } = {}): Promise<KernelVerdict> {
  let report: FidelityReport | undefined;
  if (opts.measure === false) {
    report = loadFidelity('kernel');
    if (!report) return { trusted: false, reason: "the kernel link's fidelity has not been measured on this machine yet (bench doctor --measure, or the first shaped run with backend auto)" };
    if (Date.now() - Date.parse(report.measuredAt) >= FIDELITY_MAX_AGE_MS) {
      return { trusted: false, reason: "the kernel link's last fidelity measurement is more than 7 days old (the next shaped run with backend auto measures it again)" };
    }
  } else {
    try {
      report = await fidelityFor('kernel', log);
    } catch (e) {
      return { trusted: false, reason: `the kernel link's fidelity could not be measured: ${(e as Error).message.split('\n')[0]}` };
    }
  }
  const failed = failedChecks(report);
  const when = report.measuredAt.slice(0, 10);
  return failed.length === 0
    ? { trusted: true, reason: `its fidelity measurement on this machine passed (${when})` }
    : { trusted: false, reason: `the kernel link's fidelity measurement on this machine failed (${failed.join(', ')} out of bounds, ${when}; bench doctor --measure repeats it)` };
}
