/**
 * A blocked event loop cannot make a run endless or unkillable, nor leave anything behind.
 * - The client's (a busy loop in a driver; fixtures/block-client-loop.mjs): the runner's own timers
 *   still fire, it finds the client does not answer, kills it and ends the run with exit 3 and its
 *   results on disk; Ctrl-C during the block ends the run with exit 130 within seconds.
 * - The runner's own (fixtures/block-runner-loop.mjs): the loop watchdog's thread removes the run's
 *   processes, namespaces and owner record and exits 3 (BENCH_LOOP_STALL_MS shortens its patience).
 * `network: none` needs no root; the shaped case (namespaces, link process) does.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { pidAlive } from '../../netem/cleanup.ts';
import type { RunResult } from '../../src/results/model.ts';
import { CLIENT_ANSWER_GRACE_MS } from '../../src/runner/run.ts';
import { isRoot, peerMissing } from '../support/peers.ts';
import {
  descendants,
  eventually,
  namespacesOfRun,
  ownerRecordOf,
  processesOfRun,
  rawLines,
  removeRunLeftovers,
  shapedScenario,
  startBench,
  stillAlive,
  withTimeout,
  writeScenario,
  type BenchRun,
  type ProcInfo,
} from './run-harness.ts';

const fixture = (name: string) => pathToFileURL(path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', name)).href;
const BLOCK_CLIENT = fixture('block-client-loop.mjs');
const BLOCK_RUNNER = fixture('block-runner-loop.mjs');
/** Start-up, warm-up and the first cell's start, on a loaded 2-core machine. */
const UNTIL_BLOCKED_MS = 60_000;
/** Teardown after the decision: stop the server, write result.json and the report. */
const TEARDOWN_MS = 10_000;

describe('a client whose event loop is blocked', () => {
  let tmp: string;
  const runs: BenchRun[] = [];
  beforeAll(() => {
    tmp = mkdtempSync(path.join(os.tmpdir(), 'bench-blocked-'));
  });
  afterEach(async () => {
    for (const run of runs.splice(0)) {
      if (run.child.exitCode === null && run.child.signalCode === null) {
        for (const p of descendants(run.pid)) process.kill(p.pid, 'SIGKILL');
        run.child.kill('SIGKILL');
        await run.exited;
      }
    }
  });
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  function start(tag: string, cellTimeout: string) {
    const scenario = writeScenario(
      tmp,
      `${tag}.yaml`,
      ['name: blocked', 'protocols: [h1]', 'repetitions: 1', 'network: none', 'workloads:', '  - {type: requests, requests: 20}', 'timeouts:', '  request: 2s', `  cell: ${cellTimeout}`, ''].join('\n'),
    );
    const marker = path.join(tmp, `${tag}.blocked`);
    const outDir = path.join(tmp, tag);
    const run = startBench(['run', scenario], outDir, [], { NODE_OPTIONS: `--import ${BLOCK_CLIENT}`, BENCH_TEST_BLOCKED_MARKER: marker });
    runs.push(run);
    return { run, marker, outDir };
  }

  /** Waits until the client blocked; returns its pid and when. */
  async function blocked(run: BenchRun, marker: string): Promise<{ pid: number; at: number }> {
    const deadline = Date.now() + UNTIL_BLOCKED_MS;
    while (!existsSync(marker) || readFileSync(marker, 'utf8') === '') {
      if (Date.now() > deadline || run.child.exitCode !== null) throw new Error(`the client never blocked:\n${run.stderr()}`);
      await sleep(20);
    }
    return { pid: Number(readFileSync(marker, 'utf8')), at: Date.now() };
  }

  it('the cell timeout still holds: the client is killed, the run ends with exit 3 and keeps its results', async () => {
    const cellMs = 4000;
    const { run, marker, outDir } = start('timeout', '4s');
    const client = await blocked(run, marker);
    expect(pidAlive(client.pid)).toBe(true);
    const code = await withTimeout(run.exited, cellMs + CLIENT_ANSWER_GRACE_MS + TEARDOWN_MS, 'runner exit after the cell timeout');
    const tookMs = Date.now() - client.at;
    expect(code, run.stderr()).toBe(3);
    expect(tookMs).toBeGreaterThanOrEqual(cellMs);
    expect(run.stderr()).toMatch(/internal error: client process did not answer within \d+ ms after the cell timeout \(4000 ms\) passed: its event loop is blocked; killed it/);
    expect(run.stderr()).not.toMatch(/\n\s+at /);
    expect(pidAlive(client.pid), 'the blocked client').toBe(false);
    expect(descendants(run.pid), 'processes of the runner').toEqual([]);
    const result = JSON.parse(readFileSync(path.join(outDir, 'result.json'), 'utf8')) as RunResult;
    expect(result.run.error).toMatch(/event loop is blocked/);
    expect(rawLines(outDir).at(-1)?.type).toBe('run-end');
    expect(existsSync(path.join(outDir, 'report.html'))).toBe(true);
  }, UNTIL_BLOCKED_MS + 30_000);

  it('Ctrl-C during the block ends the run within seconds (exit 130), the client killed', async () => {
    const { run, marker, outDir } = start('sigint', '5m');
    const client = await blocked(run, marker);
    run.child.kill('SIGINT');
    const sent = Date.now();
    const code = await withTimeout(run.exited, CLIENT_ANSWER_GRACE_MS + TEARDOWN_MS, 'runner exit after SIGINT');
    expect(code, run.stderr()).toBe(130);
    console.log(`exit ${Date.now() - sent} ms after SIGINT`);
    expect(pidAlive(client.pid), 'the blocked client').toBe(false);
    expect(descendants(run.pid)).toEqual([]);
    expect(rawLines(outDir).at(-1)?.type).toBe('run-end');
  }, UNTIL_BLOCKED_MS + 30_000);
});

describe("the runner's own event loop blocked", () => {
  // Generous: start-up on a loaded machine can hold the loop for seconds (module loading, certificates).
  const STALL_MS = 8000;
  let tmp: string;
  const runs: Array<{ run: BenchRun; runId?: string }> = [];
  beforeAll(() => {
    tmp = mkdtempSync(path.join(os.tmpdir(), 'bench-blocked-runner-'));
  });
  afterEach(async () => {
    for (const { run, runId } of runs.splice(0)) {
      if (run.child.exitCode === null && run.child.signalCode === null) {
        for (const p of descendants(run.pid)) process.kill(p.pid, 'SIGKILL');
        run.child.kill('SIGKILL');
        await run.exited;
      }
      if (runId) removeRunLeftovers(runId, []);
    }
  });
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  /** Those of `procs` still running a moment after the runner's exit (SIGKILLed processes take a few ms to go). */
  const stillRunning = async (procs: ProcInfo[]) => (await eventually(() => stillAlive(procs), 2000)).map((p) => p.argv.join(' '));

  /** Runs `scenarioText` with the runner's loop blocked once its second cell started; returns how it ended. */
  async function blockRunner(tag: string, scenarioText: string) {
    const scenario = writeScenario(tmp, `${tag}.yaml`, scenarioText);
    const marker = path.join(tmp, `${tag}.blocked`);
    const outDir = path.join(tmp, tag);
    const run = startBench(['run', scenario], outDir, ['--import', BLOCK_RUNNER], { BENCH_LOOP_STALL_MS: String(STALL_MS), BENCH_TEST_BLOCKED_MARKER: marker });
    const entry: { run: BenchRun; runId?: string } = { run };
    runs.push(entry);
    const deadline = Date.now() + UNTIL_BLOCKED_MS;
    while (!existsSync(marker) || readFileSync(marker, 'utf8') === '') {
      if (Date.now() > deadline || run.child.exitCode !== null) throw new Error(`the runner never blocked:\n${run.stderr()}`);
      await sleep(20);
    }
    const blockedAt = Number(readFileSync(marker, 'utf8'));
    entry.runId = rawLines(outDir).find((l) => l.type === 'run-start')?.runId as string;
    const processes = descendants(run.pid);
    expect(processes.length, 'server and client processes while blocked').toBeGreaterThanOrEqual(2);
    const code = await withTimeout(run.exited, STALL_MS + TEARDOWN_MS, 'runner exit after its loop blocked');
    return { run, code, tookMs: Date.now() - blockedAt, runId: entry.runId, processes, outDir };
  }

  it('network none: the watchdog kills the run\'s processes and exits 3', async () => {
    const r = await blockRunner('none', ['name: blocked-runner', 'protocols: [h1]', 'repetitions: 2', 'network: none', 'workloads:', '  - {type: requests, requests: 20000}', ''].join('\n'));
    expect(r.code, r.run.stderr()).toBe(3);
    // The stall counts from the loop's last beat, up to one beat (250 ms) before the block began.
    expect(r.tookMs).toBeGreaterThanOrEqual(STALL_MS - 300);
    expect(r.run.stderr()).toMatch(/internal error: the runner's event loop has not run for \d+\.\d s; removing the run's processes and network directly/);
    expect(await stillRunning(r.processes), 'processes of the run').toEqual([]);
    expect(rawLines(r.outDir).some((l) => l.type === 'cell-end'), 'what it measured is on disk').toBe(true);
  }, UNTIL_BLOCKED_MS + 30_000);

  it.skipIf(peerMissing(isRoot(), 'root (a shaped run needs network namespaces)'))('shaped: namespaces, link process and owner record are removed too', async () => {
    const r = await blockRunner('shaped', shapedScenario({ name: 'blocked-runner-shaped', requests: 200, repetitions: 2 }));
    expect(r.code, r.run.stderr()).toBe(3);
    expect(r.run.stderr()).toMatch(new RegExp(`bench: removed run ${r.runId}`));
    expect(namespacesOfRun(r.runId!), 'namespaces of the run').toEqual([]);
    expect(ownerRecordOf(r.runId!), 'owner record').toBe(false);
    expect(await stillRunning(r.processes), 'processes of the run').toEqual([]);
    expect(processesOfRun(r.runId!).map((p) => p.argv.join(' ')), 'link process').toEqual([]);
  }, UNTIL_BLOCKED_MS + 60_000);
});
