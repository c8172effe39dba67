/**
 * `bench run ... | head -1`: once the reader of its output is gone, every progress line fails with
 * EPIPE. The run must go on to its end (results on disk, exit 0) or stop on a signal as usual, and
 * leave nothing behind: no namespace, owner record or process of the run. The shaped cases need root.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { RunResult } from '../../src/results/model.ts';
import { isRoot, peerMissing } from '../support/peers.ts';
import {
  availableProtocols,
  BIN,
  descendants,
  namespacesOfRun,
  ownerRecordOf,
  processesOfRun,
  rawLines,
  removeRunLeftovers,
  ROOT,
  shapedScenario,
  stillAlive,
  waitForCellEnds,
  withTimeout,
  writeScenario,
  type BenchRun,
  type ProcInfo,
} from './run-harness.ts';

/** A whole short run on a loaded 2-core machine, setup and teardown included. */
const RUN_MS = 120_000;
/** From SIGTERM to the runner's exit, teardown included. */
const EXIT_MS = 30_000;

interface PipedRun extends BenchRun {
  /** What `head -1` printed. */
  headOutput: Promise<string>;
  /** Every process seen below the runner while it ran. */
  seen: ProcInfo[];
}

/** `bench run <scenario> --out <dir> 2>&1 | head -1`, with the runner's pid known. */
function runIntoHead(scenario: string, outDir: string): PipedRun {
  const head = spawn('head', ['-1'], { stdio: ['pipe', 'pipe', 'inherit'] });
  let headText = '';
  head.stdout!.on('data', (c: Buffer) => (headText += c.toString()));
  const headOutput = new Promise<string>((resolve) => head.on('close', () => resolve(headText)));
  // stdout and stderr both into head's stdin, as `2>&1 |` does; then only bench holds the pipe's write end.
  const child = spawn(process.execPath, [BIN, 'run', scenario, '--out', outDir], {
    cwd: ROOT,
    stdio: ['ignore', head.stdin!, head.stdin!],
    env: { ...process.env, FORCE_COLOR: '0' },
  });
  head.stdin!.destroy();
  const exited = new Promise<number>((resolve) => child.on('exit', (code, signal) => resolve(code ?? (signal === 'SIGTERM' ? 143 : 137))));
  const seen: ProcInfo[] = [];
  const watch = setInterval(() => {
    for (const p of descendants(child.pid!)) if (!seen.some((s) => s.pid === p.pid)) seen.push(p);
  }, 200);
  void exited.finally(() => clearInterval(watch));
  return { child, pid: child.pid!, outDir, stderr: () => '(stderr went to head)', exited, headOutput, seen };
}

describe('bench run into a pipe that closes', () => {
  let tmp: string;
  const started: PipedRun[] = [];

  beforeAll(() => {
    tmp = mkdtempSync(path.join(os.tmpdir(), 'bench-closed-output-'));
  });

  afterAll(() => {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  // A run that hung is killed here, and whatever it holds removed, so the next tests start clean.
  afterEach(async () => {
    for (const run of started.splice(0)) {
      if (run.child.exitCode === null && run.child.signalCode === null) {
        run.child.kill('SIGKILL');
        await run.exited;
      }
      const runId = rawLines(run.outDir).find((l) => l.type === 'run-start')?.runId as string | undefined;
      if (runId) removeRunLeftovers(runId, run.seen);
      for (const p of stillAlive(run.seen)) process.kill(p.pid, 'SIGKILL');
    }
  });

  function start(scenario: string, tag: string): PipedRun {
    const run = runIntoHead(scenario, path.join(tmp, tag));
    started.push(run);
    return run;
  }

  function runIdOf(outDir: string): string {
    const runId = rawLines(outDir).find((l) => l.type === 'run-start')?.runId;
    expect(typeof runId, 'run-start line in raw.jsonl').toBe('string');
    return runId as string;
  }

  /** Checked right at the runner's exit: nothing of the run outlives it. */
  function expectNothingLeft(run: PipedRun, shaped: boolean): void {
    expect(stillAlive(run.seen).map((p) => p.argv.join(' ')), 'processes the runner started, still running').toEqual([]);
    if (!shaped) return;
    const runId = runIdOf(run.outDir);
    expect(namespacesOfRun(runId), 'namespaces of the run').toEqual([]);
    expect(ownerRecordOf(runId), 'owner record of the run').toBe(false);
    expect(processesOfRun(runId).map((p) => p.argv.join(' ')), 'processes carrying the run id').toEqual([]);
  }

  function expectCompleteResult(outDir: string, cells: number): void {
    expect(existsSync(path.join(outDir, 'report.html')), 'report.html').toBe(true);
    const result = JSON.parse(readFileSync(path.join(outDir, 'result.json'), 'utf8')) as RunResult;
    expect(result.run.status).toBe('complete');
    expect(result.cells.filter((c) => !c.error && c.requests.ok > 0)).toHaveLength(cells);
  }

  it('network: none: the run goes on to its end, exit 0, results complete, no process left', async () => {
    const scenario = writeScenario(
      tmp,
      'loopback.yaml',
      [
        'name: closed-output-loopback',
        `protocols: [${availableProtocols().join(', ')}]`,
        'repetitions: 1',
        'network: none',
        'workloads:',
        '  - {type: requests, name: few, requests: 100, concurrency: 10, connections: 1, size: 1KB, warmup: 0}',
        '',
      ].join('\n'),
    );
    const run = start(scenario, 'loopback');
    const code = await withTimeout(run.exited, RUN_MS, 'bench run | head -1 (loopback)');
    expect(await run.headOutput).toMatch(/^bench: \d+ cells, writing to /);
    expect(code).toBe(0);
    expect(run.seen.length, 'the runner started its server and client').toBeGreaterThanOrEqual(2);
    expectNothingLeft(run, false);
    expectCompleteResult(run.outDir, availableProtocols().length);
  }, RUN_MS + 10_000);

  const noRoot = peerMissing(isRoot(), 'root (shaped runs need network namespaces and TUN devices)');

  it.skipIf(noRoot)('shaped: the run goes on to its end, exit 0, no namespace, owner record or process left', async () => {
    const scenario = writeScenario(tmp, 'shaped.yaml', shapedScenario({ name: 'closed-output-shaped', requests: 200, repetitions: 1 }));
    const run = start(scenario, 'shaped');
    const code = await withTimeout(run.exited, RUN_MS, 'bench run | head -1 (shaped)');
    expect(await run.headOutput).toMatch(/^bench: \d+ cells, writing to /);
    expect(code).toBe(0);
    expectNothingLeft(run, true);
    expectCompleteResult(run.outDir, availableProtocols().length);
  }, RUN_MS + 10_000);

  it.skipIf(noRoot)('shaped: SIGTERM after the pipe closed still ends the run (exit 143), nothing left', async () => {
    const scenario = writeScenario(tmp, 'shaped-long.yaml', shapedScenario({ name: 'closed-output-long', requests: 1000, repetitions: 2 }));
    const run = start(scenario, 'sigterm');
    await run.headOutput;
    await waitForCellEnds(run, 1, RUN_MS);
    run.child.kill('SIGTERM');
    const code = await withTimeout(run.exited, EXIT_MS, 'runner exit after SIGTERM');
    expect(code).toBe(143);
    expectNothingLeft(run, true);
  }, RUN_MS + EXIT_MS + 10_000);
});
