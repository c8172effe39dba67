/**
 * A client process whose event loop is blocked (a busy loop in a driver; injected by
 * fixtures/block-client-loop.mjs) cannot make a run endless or unkillable: the runner's own timers
 * still fire, it finds the client does not answer, kills it and ends the run with exit 3 and its
 * results on disk; Ctrl-C during the block ends the run with exit 130 within seconds. Nothing of
 * the run outlives it. `network: none`: no root needed.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { RunResult } from '../../src/results/model.ts';
import { CLIENT_ANSWER_GRACE_MS } from '../../src/runner/run.ts';
import { descendants, rawLines, startBench, withTimeout, writeScenario, type BenchRun } from './run-harness.ts';

const PRELOAD = pathToFileURL(path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures/block-client-loop.mjs')).href;
/** Start-up, warm-up and the first cell's start, on a loaded 2-core machine. */
const UNTIL_BLOCKED_MS = 60_000;
/** Teardown after the decision: stop the server, write result.json and the report. */
const TEARDOWN_MS = 10_000;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

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
    const run = startBench(['run', scenario], outDir, [], { NODE_OPTIONS: `--import ${PRELOAD}`, BENCH_TEST_BLOCKED_MARKER: marker });
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
    expect(alive(client.pid)).toBe(true);
    const code = await withTimeout(run.exited, cellMs + CLIENT_ANSWER_GRACE_MS + TEARDOWN_MS, 'runner exit after the cell timeout');
    const tookMs = Date.now() - client.at;
    expect(code, run.stderr()).toBe(3);
    expect(tookMs).toBeGreaterThanOrEqual(cellMs);
    expect(run.stderr()).toMatch(/internal error: client process did not answer within \d+ ms after the cell timeout \(4000 ms\) passed: its event loop is blocked; killed it/);
    expect(run.stderr()).not.toMatch(/\n\s+at /);
    expect(alive(client.pid), 'the blocked client').toBe(false);
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
    expect(alive(client.pid), 'the blocked client').toBe(false);
    expect(descendants(run.pid)).toEqual([]);
    expect(rawLines(outDir).at(-1)?.type).toBe('run-end');
  }, UNTIL_BLOCKED_MS + 30_000);
});
