/**
 * `bench ab` end to end on network none: this checkout as both baseline and candidate, once with
 * an injected delay on the candidate's servers that no noise can hide (exit 1, the verdicts), once
 * without (exit 0); both builds' results are valid result.json files noting the interleaving.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { GateCheck } from '../../src/gate/evaluate.ts';
import { readResult } from '../../src/results/read.ts';
import { BIN, ROOT, writeScenario } from './run-harness.ts';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'bench-ab-'));
// One request at a time, so a server delay shows in full; 60 requests give a p50 a verdict (20 beyond it).
const scenario = writeScenario(
  tmp,
  'ab.yaml',
  ['name: ab-e2e', 'protocols: [h1, h2]', 'repetitions: 1', 'seed: 3', 'network: none', 'workloads:', '  - type: requests', '    name: serial', '    requests: 60', '    concurrency: 1', '    connections: 1', '    size: 1KB', '    warmup: 5', 'timeouts:', '  request: 10s', '  cell: 1m', ''].join('\n'),
);

function ab(out: string, ...extra: string[]) {
  return spawnSync(process.execPath, [BIN, 'ab', scenario, '--baseline-build', '.', '--pairs', '5', '--out', out, '--quiet', ...extra], { cwd: ROOT, encoding: 'utf8', timeout: 400_000 });
}

describe('bench ab', () => {
  it('exits 1 with the verdicts when the candidate is 20 ms slower per request', () => {
    const out = path.join(tmp, 'slow');
    const r = ab(out, '--candidate-server-delay', '20ms', '--junit', path.join(tmp, 'slow.xml'));
    expect(r.status, r.stderr).toBe(1);
    expect(r.stderr).toMatch(/gate FAILED/);
    expect(r.stderr).toMatch(/error fail \(blocking\) +h1\.serial\.latency\.p50 <= 1\.1 baseline/);
    expect(r.stderr).toMatch(/error fail \(blocking\) +h2\.serial\.latency\.p50 <= 1\.1 baseline/);
    const checks = (JSON.parse(readFileSync(path.join(out, 'gate.json'), 'utf8')) as { checks: GateCheck[] }).checks;
    expect(checks.filter((c) => c.verdict === 'fail').map((c) => c.assertion.text).sort()).toEqual([
      'h1.serial.latency.p50 <= 1.1 baseline',
      'h1.serial.requestsPerSec >= 0.9 baseline',
      'h2.serial.latency.p50 <= 1.1 baseline',
      'h2.serial.requestsPerSec >= 0.9 baseline',
    ]);
    expect(readFileSync(path.join(tmp, 'slow.xml'), 'utf8')).toContain('<failure');

    const baseline = readResult(path.join(out, 'baseline'));
    const candidate = readResult(path.join(out, 'candidate'));
    for (const [result, role] of [[baseline, 'baseline'], [candidate, 'candidate']] as const) {
      expect(result.run.status).toBe('complete');
      expect(result.environment.interleaved).toMatchObject({ role, order: 'ABBA', pairs: 5, builds: { baseline: ROOT.replace(/\/$/, ''), candidate: ROOT.replace(/\/$/, '') } });
      expect([...new Set(result.cells.map((c) => c.repetition))]).toEqual([0, 1, 2, 3, 4]);
      for (const run of result.environment.interleaved!.runs) expect(existsSync(path.join(out, run, 'result.json'))).toBe(true);
    }
    // Runs 0, 3, 4, 7, 8 were the baseline's (A B B A A B B A A B).
    expect(baseline.environment.interleaved!.runs).toEqual(['runs/00-baseline', 'runs/03-baseline', 'runs/04-baseline', 'runs/07-baseline', 'runs/08-baseline']);
    expect(candidate.run.serverDelayMs).toBe(20);
    expect(baseline.run.serverDelayMs).toBeUndefined();
    const p50 = (protocol: string) => candidate.summaries.find((s) => s.protocol === protocol && s.metric === 'latency.p50')!.median;
    expect(p50('h1')).toBeGreaterThan(20);
    expect(existsSync(path.join(out, 'candidate', 'report.html'))).toBe(true);
  }, 420_000);

  it('exits 0 when both builds are the same', () => {
    // A generous tolerance: this checks the plumbing; the false-alarm rate at 10% is measured by npm run calibrate:ab.
    const r = ab(path.join(tmp, 'same'), '--max-regression', '50%');
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/gate passed/);
  }, 420_000);

  it('refuses a directory that is not a checkout of bench, and too few pairs (exit 2, nothing written)', () => {
    const out = path.join(tmp, 'refused');
    let r = spawnSync(process.execPath, [BIN, 'ab', scenario, '--baseline-build', tmp, '--out', out], { cwd: ROOT, encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--baseline-build .*: no src\/bin\.mjs there/);
    r = spawnSync(process.execPath, [BIN, 'ab', scenario, '--baseline-build', '.', '--pairs', '2', '--out', out], { cwd: ROOT, encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--pairs 2: the gate needs 5 repetitions/);
    expect(existsSync(out)).toBe(false);
  });
});
