/** One `bench run` of a calibration (npm run calibrate, npm run calibrate:ab), resumable and retried once. */
import { spawnSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RunResult } from '../../src/results/model.ts';
import { readResult } from '../../src/results/read.ts';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const CALIBRATION_SCENARIO = path.join(ROOT, 'scenarios/calibrate-loopback.yaml');

/**
 * Runs scenarios/calibrate-loopback.yaml into `dir` with the built-in servers waiting `delayMs`
 * before every response. A complete run already there with that delay and number of repetitions
 * is reused (an interrupted calibration resumes); a failed run is tried once more.
 */
export function calibrationRun(dir: string, opts: { repetitions: number; delayMs: number }): RunResult {
  if (existsSync(path.join(dir, 'result.json'))) {
    const previous = readResult(dir);
    const repetitions = new Set(previous.cells.map((c) => c.repetition)).size;
    if (previous.run.status === 'complete' && (previous.run.serverDelayMs ?? 0) === opts.delayMs && repetitions === opts.repetitions) return previous;
  }
  const name = path.relative(path.dirname(path.dirname(dir)), dir);
  for (let attempt = 1; ; attempt++) {
    rmSync(dir, { recursive: true, force: true });
    const started = Date.now();
    const args = ['run', CALIBRATION_SCENARIO, '--repetitions', String(opts.repetitions), ...(opts.delayMs ? ['--server-delay', `${opts.delayMs}ms`] : []), '--out', dir, '--quiet'];
    const r = spawnSync(process.execPath, [path.join(ROOT, 'src/bin.mjs'), ...args], { cwd: ROOT, encoding: 'utf8' });
    if (r.status === 0) {
      process.stderr.write(`  ${name}: ${opts.delayMs} ms server delay, ${((Date.now() - started) / 1000).toFixed(0)} s, load average ${os.loadavg()[0]!.toFixed(2)}\n`);
      return readResult(dir);
    }
    if (attempt === 2) throw new Error(`bench run ${name} exited ${r.status} twice:\n${r.stderr}`);
    process.stderr.write(`  ${name}: exited ${r.status}, once more: ${r.stderr.split('\n')[0]}\n`);
  }
}
