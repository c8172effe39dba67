/**
 * A whole comparison: the first run is the baseline, every other run a candidate against it;
 * per pair the metric changes (compare.ts), and the environment differences of all runs. This is
 * what compare.html, compare.md and the terminal table print, and what compare.html embeds.
 */
import { compareResults, type CompareOptions, type MetricChange, STATISTIC_TEXT } from './compare.ts';
import { environmentDifferences, type EnvironmentDifference } from './environment.ts';
import type { LabelledRun } from './runs.ts';

export interface CandidateComparison {
  /** Index into `runs`. */
  candidate: number;
  rows: MetricChange[];
}

export interface Comparison {
  /** runs[0] is the baseline. */
  runs: LabelledRun[];
  candidates: CandidateComparison[];
  differences: EnvironmentDifference[];
  statistic: string;
  /** Set when the runs' scenarios differ and the comparison was forced: why. */
  forcedAcrossScenarios?: string;
}

export function buildComparison(runs: LabelledRun[], opts: CompareOptions & { forcedAcrossScenarios?: string } = {}): Comparison {
  const [baseline, ...candidates] = runs;
  return {
    runs,
    candidates: candidates.map((c, i) => ({ candidate: i + 1, rows: compareResults(baseline!.result, c.result, opts) })),
    differences: environmentDifferences(runs.map((r) => r.result)),
    statistic: STATISTIC_TEXT,
    ...(opts.forcedAcrossScenarios ? { forcedAcrossScenarios: opts.forcedAcrossScenarios } : {}),
  };
}
