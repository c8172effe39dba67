/**
 * Teardown on every exit path, and removal of what a killed runner left behind.
 *
 * - A process-level registry: each live topology registers its teardown; installTeardownHandlers()
 *   runs them on SIGINT / SIGTERM (then exits 130 / 143), on an uncaught exception (exit 1), and,
 *   synchronously and best-effort, on process exit.
 * - Owner records (/run/bench-netem/<prefix><runId>.json, holding the owning pid) tell a live run
 *   from a leftover, so `bench doctor --cleanup` never removes a run that is still going.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { LINK_PROCESS_MARKER } from './backend.ts';
import { getRunner, type CommandRunner } from './exec.ts';
import { NETNS_PREFIX, deleteNamespace, listNamespaces } from './namespaces.ts';

// ---------------------------------------------------------------------------------------------
// Process-level registry

export interface TeardownEntry {
  /** Full, asynchronous teardown. */
  teardown(): Promise<void>;
  /** Best-effort synchronous teardown for process 'exit', where nothing asynchronous can run. */
  teardownSync(): void;
}

const live = new Set<TeardownEntry>();

/** Returns the function that unregisters the entry (call it once the entry tore itself down). */
export function registerTeardown(entry: TeardownEntry): () => void {
  live.add(entry);
  return () => live.delete(entry);
}

export function liveTeardownCount(): number {
  return live.size;
}

/** Runs every registered teardown (in parallel); errors are reported on stderr, never thrown. */
export async function runAllTeardowns(timeoutMs = 15_000): Promise<void> {
  const entries = [...live];
  const all = Promise.allSettled(entries.map((e) => e.teardown()));
  const results = await Promise.race([all, sleep(timeoutMs).then(() => 'timeout' as const)]);
  if (results === 'timeout') {
    process.stderr.write(`netem: teardown did not finish within ${timeoutMs} ms; run \`bench doctor --cleanup\`\n`);
    return;
  }
  for (const r of results) {
    if (r.status === 'rejected') process.stderr.write(`netem: teardown failed: ${String(r.reason)}\n`);
  }
}

const SIGNAL_EXIT_CODES = { SIGINT: 130, SIGTERM: 143, SIGHUP: 129 } as const;
let installed = false;

/**
 * Installs the handlers once per process. On a signal: tear down, then exit with 128+signo
 * (a second signal while tearing down exits at once). On an uncaught exception: print it,
 * tear down, exit 1.
 */
export function installTeardownHandlers(): void {
  if (installed) return;
  installed = true;
  let exiting = false;
  for (const [signal, code] of Object.entries(SIGNAL_EXIT_CODES) as [NodeJS.Signals, number][]) {
    process.on(signal, () => {
      if (exiting) process.exit(code);
      exiting = true;
      void runAllTeardowns().finally(() => process.exit(code));
    });
  }
  process.on('uncaughtException', (err) => {
    process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    if (exiting) process.exit(1);
    exiting = true;
    void runAllTeardowns().finally(() => process.exit(1));
  });
  process.on('exit', () => {
    for (const e of live) {
      try {
        e.teardownSync();
      } catch {
        // best effort: `bench doctor --cleanup` removes anything left
      }
    }
  });
}

/** Synchronous namespace deletion for the 'exit' path: kill what is inside, then delete. */
export function deleteNamespaceSync(ns: string): void {
  const pids = spawnSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' }).stdout ?? '';
  for (const pid of pids.split(/\s+/).filter(Boolean).map(Number)) {
    if (pid > 1 && pid !== process.pid) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
  }
  spawnSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
}

/**
 * What the topologies of process `ownerPid` hold, removed synchronously from any thread: their link
 * processes, their namespaces (and what runs inside) and their owner records. For a runner whose
 * event loop is stuck, where no registered teardown can run.
 */
export function removeRunsOfSync(ownerPid: number, dir = OWNER_DIR): string[] {
  const removed: string[] = [];
  for (const rec of readOwnerRecords(dir).filter((r) => r.pid === ownerPid)) {
    for (const link of findLinkProcesses().filter((p) => p.runId === rec.runId)) {
      try {
        process.kill(link.pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
    for (const ns of rec.namespaces) deleteNamespaceSync(ns);
    removeOwnerRecord(rec.runId, dir);
    removed.push(rec.runId);
  }
  return removed;
}

// ---------------------------------------------------------------------------------------------
// Owner records

export const OWNER_DIR = '/run/bench-netem';

export interface OwnerRecord {
  runId: string;
  pid: number;
  namespaces: string[];
  createdAt: string;
}

function ownerFile(runId: string, dir: string): string {
  return join(dir, `${NETNS_PREFIX}${runId}.json`);
}

export function writeOwnerRecord(rec: OwnerRecord, dir = OWNER_DIR): void {
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  writeFileSync(ownerFile(rec.runId, dir), JSON.stringify(rec));
}

export function removeOwnerRecord(runId: string, dir = OWNER_DIR): void {
  rmSync(ownerFile(runId, dir), { force: true });
}

export function readOwnerRecords(dir = OWNER_DIR): OwnerRecord[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const out: OwnerRecord[] = [];
  for (const n of names) {
    if (!n.startsWith(NETNS_PREFIX) || !n.endsWith('.json')) continue;
    try {
      out.push(JSON.parse(readFileSync(join(dir, n), 'utf8')) as OwnerRecord);
    } catch {
      // a torn record is a leftover too: treat as dead (no pid)
      out.push({ runId: n.slice(NETNS_PREFIX.length, -'.json'.length), pid: 0, namespaces: [], createdAt: '' });
    }
  }
  return out;
}

export function pidAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

// ---------------------------------------------------------------------------------------------
// Leftovers

export interface CleanupReport {
  namespaces: string[];
  devices: string[];
  processes: { pid: number; argv: string[] }[];
  ownerRecords: string[];
  /** Runs still owned by a live process: left alone. */
  skippedLiveRuns: string[];
}

/** "bnch-<runId>-c" -> "<runId>" */
export function runIdOfNamespace(ns: string): string | undefined {
  const m = /^bnch-(.+)-[cs]$/.exec(ns);
  return m?.[1];
}

/** Host processes carrying LINK_PROCESS_MARKER in their argv, from /proc. */
export function findLinkProcesses(): { pid: number; runId: string; argv: string[] }[] {
  const out: { pid: number; runId: string; argv: string[] }[] = [];
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return out;
  }
  for (const e of entries) {
    if (!/^\d+$/.test(e)) continue;
    const pid = Number(e);
    if (pid === process.pid) continue;
    let argv: string[];
    try {
      argv = readFileSync(`/proc/${e}/cmdline`, 'utf8').split('\0').filter(Boolean);
    } catch {
      continue;
    }
    const mark = argv.find((a) => a.startsWith(LINK_PROCESS_MARKER));
    if (mark) out.push({ pid, runId: mark.slice(LINK_PROCESS_MARKER.length), argv });
  }
  return out;
}

/**
 * Removes namespaces, host devices, link processes and owner records with our prefix whose owning
 * process is gone (a killed runner's leftovers). Names without our prefix are never touched.
 */
export async function cleanupLeftovers(opts: { exec?: CommandRunner } = {}): Promise<CleanupReport> {
  const exec = opts.exec ?? getRunner();
  // Always the real record directory: judging liveness from any other would remove live runs.
  const ownerDir = OWNER_DIR;
  const report: CleanupReport = { namespaces: [], devices: [], processes: [], ownerRecords: [], skippedLiveRuns: [] };
  const records = readOwnerRecords(ownerDir);
  const liveRuns = new Set(records.filter((r) => pidAlive(r.pid)).map((r) => r.runId));
  report.skippedLiveRuns = [...liveRuns].sort();

  // Link processes first, so nothing holds devices while the namespaces go.
  const procs = findLinkProcesses().filter((p) => !liveRuns.has(p.runId));
  for (const p of procs) {
    try {
      process.kill(p.pid, 'SIGTERM');
    } catch {
      continue;
    }
    for (let i = 0; i < 50 && pidAlive(p.pid); i++) await sleep(20);
    if (pidAlive(p.pid)) {
      try {
        process.kill(p.pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
    report.processes.push({ pid: p.pid, argv: p.argv });
  }

  for (const ns of await listNamespaces(exec)) {
    if (!ns.startsWith(NETNS_PREFIX)) continue;
    const runId = runIdOfNamespace(ns);
    if (runId !== undefined && liveRuns.has(runId)) continue;
    if (await deleteNamespace(exec, ns)) report.namespaces.push(ns);
  }

  // Devices in the host namespace with our prefix (a backend may stage devices here before moving
  // them): their names are too short to carry a run id, so only remove them when no run is live.
  if (liveRuns.size === 0) {
    const { stdout } = await exec.run(['ip', '-j', 'link', 'show']);
    const links = JSON.parse(stdout || '[]') as { ifname: string }[];
    for (const l of links) {
      if (!l.ifname.startsWith(NETNS_PREFIX.slice(0, -1))) continue;
      const r = await exec.run(['ip', 'link', 'del', 'dev', l.ifname], { check: false });
      if (r.exitCode === 0) report.devices.push(l.ifname);
    }
  }

  for (const r of records) {
    if (liveRuns.has(r.runId)) continue;
    removeOwnerRecord(r.runId, ownerDir);
    report.ownerRecords.push(r.runId);
  }
  return report;
}

/** One line per thing removed, for `bench doctor --cleanup`. */
export function formatCleanupReport(r: CleanupReport): string {
  const lines = [
    ...r.processes.map((p) => `  killed link process ${p.pid} (${p.argv.join(' ')})`),
    ...r.namespaces.map((n) => `  removed namespace ${n}`),
    ...r.devices.map((d) => `  removed host device ${d}`),
    ...r.ownerRecords.map((id) => `  removed owner record of run ${id}`),
    ...r.skippedLiveRuns.map((id) => `  left alone: run ${id} (its runner is still alive)`),
  ];
  return lines.length > 0 ? lines.join('\n') : '  nothing to clean up';
}
