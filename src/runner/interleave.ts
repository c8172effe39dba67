/**
 * `bench ab`: baseline and candidate builds measured in one run, alternating single-repetition
 * runs, then the runs of each build gathered into one result (pure parts: the order and the merge).
 */
import type { InterleavedRun, RunResult, Warning } from '../results/model.ts';
import { summariseCells, validityWarnings } from './summarise.ts';

export type AbRole = 'baseline' | 'candidate';

/**
 * The order of the runs, ABBA: pair i runs baseline then candidate when i is even, candidate then
 * baseline when i is odd (A B B A A B B A ...). Each build goes first in half of the pairs, so
 * whatever favours the first or the second run of a pair (a cache warmed by the other build, a
 * neighbour's burst that starts or ends) falls on both alike, and a linear drift of the machine
 * over any two pairs cancels; strict alternation (A B A B) would put the candidate after the
 * baseline in every pair, half a step later along any drift.
 */
export function abOrder(pairs: number): { role: AbRole; pair: number }[] {
  const out: { role: AbRole; pair: number }[] = [];
  for (let pair = 0; pair < pairs; pair++) {
    const roles: AbRole[] = pair % 2 === 0 ? ['baseline', 'candidate'] : ['candidate', 'baseline'];
    for (const role of roles) out.push({ role, pair });
  }
  return out;
}

/**
 * One result of one build from its single-repetition runs (in run order): the cells of run i
 * become repetition i, renumbered in run order; summaries and validity warnings are computed anew
 * over all of them, as `bench run` does over its repetitions; warnings of a run that are not about
 * its cells (the network was not shaped, ...) are kept once. `interleaved` says how it was made.
 */
export function mergeRuns(runs: readonly RunResult[], interleaved: InterleavedRun, argv: string[]): RunResult {
  const first = runs[0];
  if (!first) throw new Error('mergeRuns: no runs');
  const names = new Set(runs.map((r) => r.scenario.name));
  if (names.size > 1) throw new Error(`mergeRuns: runs of different scenarios (${[...names].join(', ')})`);
  let order = 0;
  const cells = runs.flatMap((run, repetition) =>
    [...run.cells].sort((a, b) => a.order - b.order).map((cell) => ({ ...cell, repetition, order: order++ })),
  );
  const delays = new Set(runs.map((r) => r.run.serverDelayMs ?? 0));
  const statuses = runs.map((r) => r.run.status);
  const last = runs[runs.length - 1]!;
  const merged: RunResult = {
    ...structuredClone(first),
    run: {
      id: `${first.run.id}-${interleaved.role}`,
      startedAt: first.run.startedAt,
      ...(last.run.finishedAt ? { finishedAt: last.run.finishedAt } : {}),
      ...(last.run.finishedAt ? { durationMs: Date.parse(last.run.finishedAt) - Date.parse(first.run.startedAt) } : {}),
      argv,
      seed: first.run.seed,
      status: statuses.every((s) => s === 'complete') ? 'complete' : statuses.some((s) => s !== 'failed') ? 'partial' : 'failed',
      ...(delays.size === 1 && first.run.serverDelayMs ? { serverDelayMs: first.run.serverDelayMs } : {}),
      ...(runs.some((r) => r.run.error) ? { error: runs.filter((r) => r.run.error).map((r) => r.run.error).join('; ') } : {}),
    },
    environment: { ...structuredClone(first.environment), interleaved },
    networks: first.networks,
    cells,
    summaries: [],
    warnings: [],
  };
  if (delays.size > 1) throw new Error(`mergeRuns: runs of the ${interleaved.role} with different server delays (${[...delays].join(', ')} ms)`);
  merged.summaries = summariseCells(cells);
  const runLevel = new Map<string, Warning>();
  for (const run of runs) {
    const aboutCells = new Set(validityWarnings(run).map((w) => JSON.stringify(w)));
    for (const w of run.warnings) if (!aboutCells.has(JSON.stringify(w))) runLevel.set(JSON.stringify(w), w);
  }
  merged.warnings = [...runLevel.values(), ...validityWarnings(merged)];
  return merged;
}
