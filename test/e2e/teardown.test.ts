/**
 * `bench run` leaves nothing behind on every exit path, and keeps what it measured: interrupted by
 * SIGINT or SIGTERM, or failing because the link, client or server process died, the run's
 * namespaces, devices, processes and owner record are gone when the runner exits, and result.json,
 * raw.jsonl and report.html hold the finished cells. A SIGKILLed runner leaves things behind, which
 * `bench doctor --cleanup` removes. The host namespace's network state never changes. Needs root.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { RunResult } from '../../src/results/model.ts';
import { isRoot, peerMissing } from '../support/peers.ts';
import {
  eventually,
  hostDevicesWithPrefix,
  hostSnapshot,
  namespaces,
  namespaceInodes,
  namespacesOfRun,
  ownerRecordOf,
  ownerRecords,
  processesInNamespaces,
  processesOfRun,
  rawLines,
  removeRunLeftovers,
  runBench,
  runProcesses,
  shapedScenario,
  startBench,
  stillAlive,
  waitForCellEnds,
  withTimeout,
  writeScenario,
  type BenchRun,
  type ProcInfo,
  type Role,
} from './run-harness.ts';

const skip = peerMissing(isRoot(), 'root (shaped runs need network namespaces and TUN devices)');

/** Setup (namespaces, link, servers, warm-up) plus one cell, on a loaded 2-core machine. */
const FIRST_CELL_MS = 90_000;
/** From the signal (or the crash) to the runner's exit, teardown included. */
const EXIT_MS = 30_000;
const REQUESTS = 1000;

describe.skipIf(skip)('bench run: teardown on every exit path, partial results kept', () => {
  let tmp: string;
  let longScenario: string;
  let devicesBefore: Set<string>;

  beforeAll(() => {
    tmp = mkdtempSync(path.join(os.tmpdir(), 'bench-teardown-'));
    // 3 repetitions of 1,000 requests per protocol: seconds per cell, so the run is still going
    // when the first cell has ended.
    longScenario = writeScenario(tmp, 'long.yaml', shapedScenario({ name: 'teardown-long', requests: REQUESTS, repetitions: 3 }));
    devicesBefore = new Set(hostDevicesWithPrefix());
  });

  afterAll(() => {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  // Runs this test started, with the processes seen in them: when a check fails, whatever the run
  // still holds is removed here so that the next tests start from a clean machine.
  const started: Array<{ run: BenchRun; procs: ProcInfo[] }> = [];
  const start = (args: string[], outDir: string, nodeArgs: string[] = []): BenchRun => {
    const run = startBench(args, outDir, nodeArgs);
    started.push({ run, procs: [] });
    return run;
  };
  const remember = (run: BenchRun, procs: Record<Role, ProcInfo[]>) => {
    started.find((s) => s.run === run)?.procs.push(...procs.server, ...procs.client, ...procs.link);
  };
  afterEach(async () => {
    for (const { run, procs } of started.splice(0)) {
      if (run.child.exitCode === null && run.child.signalCode === null) {
        run.child.kill('SIGKILL');
        await run.exited;
      }
      const runId = rawLines(run.outDir).find((l) => l.type === 'run-start')?.runId as string | undefined;
      if (runId) removeRunLeftovers(runId, procs);
    }
  });

  interface Interrupted {
    code: number;
    stderr: string;
    runId: string;
    outDir: string;
    /** The run's server, client and link processes as they were just before the interruption. */
    procs: Record<Role, ProcInfo[]>;
    /** Kernel ids of the run's namespaces while it ran. */
    nsInodes: number[];
    finishedBefore: number;
    runnerPid: number;
  }

  /** Starts the long scenario, waits for its first finished cell, does `act`, waits for the exit. */
  async function interruptAfterFirstCell(
    tag: string,
    act: (run: BenchRun, procs: Record<Role, ProcInfo[]>) => void,
    nodeArgs: string[] = [],
  ): Promise<Interrupted> {
    const outDir = path.join(tmp, tag);
    const run = start(['run', longScenario], outDir, nodeArgs);
    const runId = await waitForCellEnds(run, 1, FIRST_CELL_MS);
    const procs = runProcesses(run.pid);
    remember(run, procs);
    const nsInodes = namespaceInodes(runId);
    expect(nsInodes).toHaveLength(2);
    for (const role of ['server', 'client', 'link'] as const) expect(procs[role], `${role} process of run ${runId}`).toHaveLength(1);
    const finishedBefore = rawLines(outDir).filter((l) => l.type === 'cell-end' && !l.error).length;
    act(run, procs);
    const code = await withTimeout(run.exited, EXIT_MS, `runner exit after ${tag}`);
    return { code, stderr: run.stderr(), runId, outDir, procs, nsInodes, finishedBefore, runnerPid: run.pid };
  }

  /** Nothing of the run outlives the runner: checked right at its exit, no grace period. */
  function expectNothingLeft(r: Pick<Interrupted, 'runId' | 'procs' | 'nsInodes'>): void {
    expect(namespacesOfRun(r.runId), 'namespaces of the run').toEqual([]);
    expect(hostDevicesWithPrefix().filter((d) => !devicesBefore.has(d)), 'new host devices with our prefix').toEqual([]);
    expect(ownerRecordOf(r.runId), 'owner record of the run').toBe(false);
    expect(processesOfRun(r.runId).map((p) => p.argv.join(' ')), 'processes carrying the run id').toEqual([]);
    const all = [...r.procs.server, ...r.procs.client, ...r.procs.link];
    expect(stillAlive(all).map((p) => p.argv.join(' ')), 'server, client or link process still running').toEqual([]);
    expect(processesInNamespaces(r.nsInodes).map((p) => p.argv.join(' ')), 'processes inside the deleted namespaces').toEqual([]);
  }

  /** result.json, raw.jsonl and report.html are on disk, with the cells that finished. */
  function expectPartialResults(r: Interrupted): RunResult {
    for (const f of ['result.json', 'raw.jsonl', 'report.html']) expect(existsSync(path.join(r.outDir, f)), f).toBe(true);
    const result = JSON.parse(readFileSync(path.join(r.outDir, 'result.json'), 'utf8')) as RunResult;
    expect(result.run.id).toBe(r.runId);
    expect(result.run.status).toBe('partial');
    const ok = result.cells.filter((c) => !c.error && c.requests.ok > 0);
    expect(ok.length, 'finished cells in result.json').toBeGreaterThanOrEqual(r.finishedBefore);
    expect(ok.length, 'the run was interrupted before its last cell').toBeLessThan(3 * 2);
    const raw = rawLines(r.outDir);
    expect(raw.at(-1)?.type, 'raw.jsonl ends with run-end').toBe('run-end');
    expect(raw.filter((l) => l.type === 'request').length).toBeGreaterThanOrEqual(REQUESTS * r.finishedBefore);
    const html = readFileSync(path.join(r.outDir, 'report.html'), 'utf8');
    expect(html).toContain('teardown-long');
    return result;
  }

  it('SIGINT mid-run: exit 130, nothing left, finished cells kept', async () => {
    const r = await interruptAfterFirstCell('sigint', (run) => run.child.kill('SIGINT'));
    expect(r.code, r.stderr).toBe(130);
    expectNothingLeft(r);
    expectPartialResults(r);
  }, FIRST_CELL_MS + EXIT_MS + 5_000);

  it('SIGTERM mid-run: exit 143, nothing left, finished cells kept', async () => {
    const r = await interruptAfterFirstCell('sigterm', (run) => run.child.kill('SIGTERM'));
    expect(r.code, r.stderr).toBe(143);
    expectNothingLeft(r);
    expectPartialResults(r);
  }, FIRST_CELL_MS + EXIT_MS + 5_000);

  it('SIGINT while the network is being set up: exit 130, nothing left', async () => {
    const outDir = path.join(tmp, 'sigint-setup');
    const run = start(['run', longScenario], outDir);
    // The owner record is written first thing when the topology is built.
    const missing = await eventually(() => (ownerRecords().some((o) => o.pid === run.pid) ? [] : ['owner record of the run']), FIRST_CELL_MS, 10);
    expect(missing, run.stderr()).toEqual([]);
    const record = ownerRecords().find((o) => o.pid === run.pid);
    const procs = runProcesses(run.pid);
    remember(run, procs);
    const nsInodes = namespaceInodes(record!.runId);
    run.child.kill('SIGINT');
    const code = await withTimeout(run.exited, EXIT_MS, 'runner exit after SIGINT during setup');
    expect(code, run.stderr()).toBe(130);
    // Whatever started after the signal was torn down too (processes of the run found by its id).
    expectNothingLeft({ runId: record!.runId, procs, nsInodes });
    const result = JSON.parse(readFileSync(path.join(outDir, 'result.json'), 'utf8')) as RunResult;
    expect(result.cells).toEqual([]);
    expect(result.run.status).toBe('failed');
  }, FIRST_CELL_MS + EXIT_MS);

  const crashes: Array<{ role: Role; names: RegExp }> = [
    { role: 'link', names: /link process exited \(SIGKILL\)/ },
    { role: 'client', names: /client process exited \(SIGKILL\)/ },
    { role: 'server', names: /server process exited \(SIGKILL\)/ },
  ];
  for (const { role, names } of crashes) {
    it(`SIGKILL of the ${role} process mid-run: exit 3 naming it, nothing left, finished cells kept`, async () => {
      const r = await interruptAfterFirstCell(`kill-${role}`, (_run, procs) => process.kill(procs[role][0]!.pid, 'SIGKILL'));
      expect(r.code, r.stderr).toBe(3);
      expect(r.stderr).toMatch(/internal error: /);
      expect(r.stderr).toMatch(names);
      expect(r.stderr).toContain(r.outDir);
      expectNothingLeft(r);
      const result = expectPartialResults(r);
      expect(result.run.error).toMatch(names);
    }, FIRST_CELL_MS + EXIT_MS + 5_000);
  }

  it('an uncaught exception in the runner mid-run: exit 3, nothing left, finished cells kept', async () => {
    const preload = pathToFileURL(path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures/crash-after-first-cell.mjs')).href;
    // The preload throws as soon as a cell has ended: the run may be a moment past it already.
    const r = await interruptAfterFirstCell('crash', () => {}, ['--import', preload]);
    expect(r.code, r.stderr).toBe(3);
    expect(r.stderr).toMatch(/internal error: fault injected by the teardown test/);
    expectNothingLeft(r);
    const result = expectPartialResults(r);
    expect(result.run.error).toMatch(/fault injected/);
  }, FIRST_CELL_MS + EXIT_MS + 5_000);

  it('SIGKILL of the runner leaves things behind; bench doctor --cleanup removes them and nothing else', async () => {
    const unrelated = 'unrelated-test-ns';
    execFileSync('ip', ['netns', 'add', unrelated]);
    try {
      const r = await interruptAfterFirstCell('kill-runner', (run) => run.child.kill('SIGKILL'));
      expect(r.code).toBe(128 + 9);
      // No teardown could run: the namespaces and the owner record are still there.
      expect(namespacesOfRun(r.runId).sort()).toEqual([`bnch-${r.runId}-c`, `bnch-${r.runId}-s`]);
      expect(ownerRecordOf(r.runId)).toBe(true);
      expect(ownerRecords().find((o) => o.runId === r.runId)?.pid).toBe(r.runnerPid);

      const cleanup = await runBench(['doctor', '--cleanup'], undefined, EXIT_MS);
      expect(cleanup.code, cleanup.stderr).toBe(0);
      // Processes inside the namespaces die with them, or with their parent's IPC channel.
      const all = [...r.procs.server, ...r.procs.client, ...r.procs.link];
      expect(await eventually(() => [...stillAlive(all), ...processesInNamespaces(r.nsInodes)].map((p) => p.argv.join(' ')), 5_000)).toEqual([]);
      expectNothingLeft(r);
      expect(namespaces()).toContain(unrelated);
      // What the runner wrote before it died is still readable.
      const raw = rawLines(r.outDir);
      expect(raw.filter((l) => l.type === 'cell-end').length).toBeGreaterThanOrEqual(r.finishedBefore);
    } finally {
      execFileSync('ip', ['netns', 'del', unrelated]);
    }
  }, FIRST_CELL_MS + 2 * EXIT_MS);

  it("leaves the host namespace's addresses, routes, rules, qdiscs and sysctls as they were", async () => {
    const before = hostSnapshot();
    const short = writeScenario(tmp, 'short.yaml', shapedScenario({ name: 'teardown-short', requests: 200, repetitions: 1, backend: 'auto' }));
    const complete = await runBench(['run', short], path.join(tmp, 'complete'), FIRST_CELL_MS * 2);
    expect(complete.code, complete.stderr).toBe(0);
    expect(hostSnapshot()).toEqual(before);

    const outDir = path.join(tmp, 'interrupted');
    const run = start(['run', longScenario], outDir);
    await waitForCellEnds(run, 1, FIRST_CELL_MS, 'cell-start');
    run.child.kill('SIGINT');
    expect(await withTimeout(run.exited, EXIT_MS, 'runner exit after SIGINT')).toBe(130);
    expect(hostSnapshot()).toEqual(before);
  }, FIRST_CELL_MS * 3 + EXIT_MS);

  /** Runs bench on `scenario`; returns its exit code, stderr, and the run ids of owner records naming its pid. */
  async function runWatchingOwners(scenario: string, outDir: string): Promise<{ code: number; stderr: string; runIds: Set<string> }> {
    const run = start(['run', scenario], outDir);
    const runIds = new Set<string>();
    let exited = false;
    void run.exited.then(() => (exited = true));
    const deadline = Date.now() + EXIT_MS;
    while (!exited && Date.now() < deadline) {
      for (const o of ownerRecords()) if (o.pid === run.pid) runIds.add(o.runId);
      await sleep(20);
    }
    const code = await withTimeout(run.exited, 1_000, 'bench exit', () => run.child.kill('SIGKILL'));
    return { code, stderr: run.stderr(), runIds };
  }

  it('a bad scenario exits 2 and starts nothing: no namespace, no run directory', async () => {
    const text = shapedScenario({ name: 'teardown-bad', requests: 10, repetitions: 1 }).replace('delay: 5ms', 'delay: 5ms\n    loss: 150%');
    const outDir = path.join(tmp, 'bad-out');
    const r = await runWatchingOwners(writeScenario(tmp, 'bad.yaml', text), outDir);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/bad\.yaml:\d+:\d+: network\.link\.loss/);
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
    expect([...r.runIds], 'topologies started').toEqual([]);
    expect(existsSync(outDir), 'run directory').toBe(false);
  }, EXIT_MS + 5_000);

  it('a missing rate trace is a mistake in the scenario: exits 2 with its position and leaves nothing: no namespace, no run directory', async () => {
    const text = shapedScenario({ name: 'teardown-trace', requests: 10, repetitions: 1 }).replace('delay: 5ms', `delay: 5ms\n    rateTrace: ${path.join(tmp, 'no-such.trace')}`);
    const outDir = path.join(tmp, 'trace-out');
    const r = await runWatchingOwners(writeScenario(tmp, 'trace.yaml', text), outDir);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/trace\.yaml:\d+:\d+: network\.link\.rateTrace: .*no-such\.trace does not exist/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    for (const runId of r.runIds) {
      expect(namespacesOfRun(runId), `namespaces of run ${runId}`).toEqual([]);
      expect(ownerRecordOf(runId)).toBe(false);
      expect(processesOfRun(runId)).toEqual([]);
    }
    expect(existsSync(outDir), 'run directory').toBe(false);
  }, EXIT_MS + 5_000);
});
