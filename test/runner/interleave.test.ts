/** `bench ab`'s pure parts: the ABBA run order and gathering one build's single-repetition runs into one result. */
import { describe, expect, it } from 'vitest';
import type { InterleavedRun, RunResult } from '../../src/results/model.ts';
import { parseResult } from '../../src/results/read.ts';
import { abOrder, mergeRuns } from '../../src/runner/interleave.ts';
import { fixtureResult } from '../report/fixture.ts';

/** A single-repetition run of the fixture scenario, as `bench run --repetitions 1` leaves it. */
function single(seed: number, startedAt: string, finishedAt: string): RunResult {
  const r = fixtureResult({ repetitions: 1, requestsPerCell: 200, seed });
  r.run = { ...r.run, id: `run-${seed}`, startedAt, finishedAt };
  r.warnings = [
    { level: 'info', code: 'NETWORK_NOT_SHAPED', message: 'The network was not shaped: client and server talked over plain loopback.' },
    { level: 'info', code: 'FEW_REPETITIONS', message: '1 repetition(s): figures show the range across repetitions; 5 or more give a 95% confidence interval of the median' },
  ];
  return r;
}

const info: InterleavedRun = { role: 'candidate', order: 'ABBA', pairs: 3, builds: { baseline: '/b', candidate: '/c' }, runs: ['runs/01', 'runs/02', 'runs/05'] };

describe('abOrder', () => {
  it('runs A B B A A B ...: each build first in half the pairs, each pair one run of each', () => {
    const order = abOrder(4);
    expect(order.map((s) => (s.role === 'baseline' ? 'A' : 'B')).join('')).toBe('ABBAABBA');
    expect(order.map((s) => s.pair)).toEqual([0, 0, 1, 1, 2, 2, 3, 3]);
    // Over any two pairs the mean position of each build is the same: a linear drift cancels.
    const position = (role: string) => order.flatMap((s, i) => (s.role === role ? [i] : [])).reduce((a, b) => a + b, 0);
    expect(position('baseline')).toBe(position('candidate'));
  });
});

describe('mergeRuns', () => {
  const runs = [single(1, '2026-12-05T10:00:00.000Z', '2026-12-05T10:00:10.000Z'), single(2, '2026-12-05T10:00:30.000Z', '2026-12-05T10:00:40.000Z'), single(3, '2026-12-05T10:01:00.000Z', '2026-12-05T10:01:10.000Z')];
  const merged = mergeRuns(runs, info, ['ab', 'x.yaml']);

  it('renumbers the repetitions by run and the order across runs, keeping every cell', () => {
    const perRun = runs[0]!.cells.length;
    expect(merged.cells).toHaveLength(3 * perRun);
    expect(merged.cells.map((c) => c.repetition)).toEqual([...Array(perRun).fill(0), ...Array(perRun).fill(1), ...Array(perRun).fill(2)]);
    expect(merged.cells.map((c) => c.order)).toEqual(merged.cells.map((_, i) => i));
    // Run 2's h2 cell is the merged repetition 1's, figures untouched.
    const src = runs[1]!.cells.find((c) => c.protocol === 'h2')!;
    expect(merged.cells.find((c) => c.protocol === 'h2' && c.repetition === 1)!.metrics.latency!.p50).toBe(src.metrics.latency!.p50);
  });

  it('summarises across the runs as bench run does across repetitions', () => {
    const s = merged.summaries.find((x) => x.protocol === 'h1' && x.metric === 'latency.p50')!;
    expect(s.values).toEqual(runs.map((r) => r.cells.find((c) => c.protocol === 'h1')!.metrics.latency!.p50));
    expect(s.ciMethod).toBe('range');
  });

  it('notes the interleaving, spans the runs in time, and keeps run-level warnings once (cell warnings recomputed)', () => {
    expect(merged.environment.interleaved).toEqual(info);
    expect(merged.run.startedAt).toBe('2026-12-05T10:00:00.000Z');
    expect(merged.run.durationMs).toBe(70_000);
    expect(merged.run.status).toBe('complete');
    expect(merged.warnings.filter((w) => w.code === 'NETWORK_NOT_SHAPED')).toHaveLength(1);
    expect(merged.warnings.filter((w) => w.code === 'FEW_REPETITIONS').map((w) => w.message)).toEqual([expect.stringMatching(/^3 repetition\(s\)/)]);
  });

  it('is a valid result.json', () => {
    expect(() => parseResult(JSON.parse(JSON.stringify(merged)), 'merged.json')).not.toThrow();
  });

  it('refuses runs of different server delays or scenarios', () => {
    const delayed = structuredClone(runs[1]!);
    delayed.run.serverDelayMs = 5;
    expect(() => mergeRuns([runs[0]!, delayed], info, [])).toThrow(/different server delays/);
    const other = structuredClone(runs[1]!);
    other.scenario.name = 'other';
    expect(() => mergeRuns([runs[0]!, other], info, [])).toThrow(/different scenarios/);
  });
});
