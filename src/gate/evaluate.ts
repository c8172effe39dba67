/**
 * The CI gate: assertions evaluated over result.json, by a pure function. A check fails only when
 * the data show the violation beyond noise; a violated point estimate whose 95% interval still
 * reaches the allowed side is "inconclusive" (reported, never failing), so a gate on a shared,
 * noisy runner stops a real regression and lets noise through.
 *
 * - A value bound (`<= 2.2 rtt`): the median of the repetitions, with a bootstrap 95% interval of
 *   the median (5+ repetitions) or their range; fails when the whole interval violates the bound.
 * - A ratio bound (`< 0.8 h2....`, `>= 0.9 baseline`): the ratio of medians with its bootstrap
 *   interval (compare.ts); fails when the ratio violates the factor AND its interval excludes the
 *   less demanding of "no difference" and the factor: a tolerance (`<= 1.1 baseline`) then fails
 *   on a significant change beyond it, a demand (`< 0.8 h2`) on a significant shortfall.
 */
import { bootstrapCI95, median } from '../metrics/stats.ts';
import { compareValues, MIN_REPETITIONS, type Side } from '../compare/compare.ts';
import { formatChange } from '../compare/format.ts';
import { formatValue } from '../report/format.ts';
import type { Assertion, AssertionOperator, MetricRef } from '../results/assertions.ts';
import { findMetric, type MetricDefinition, tooFewSamples } from '../results/catalogue.ts';
import type { RunResult } from '../results/model.ts';

export type GateVerdict = 'pass' | 'fail' | 'inconclusive' | 'too few repetitions' | 'too few samples' | 'no data' | 'not run' | 'no baseline';

export interface GateCheck {
  assertion: Assertion;
  network: string;
  /** The bound in words: "<= 2.2 RTT", "<= 1.1 x baseline". */
  expected: string;
  /** The measured figure: "2.41 RTT (median of 5)", "1.12 x (+12%)". */
  found: string;
  /** Its 95% interval, or the range of the repetitions (said so), when there is one. */
  interval?: string;
  verdict: GateVerdict;
  /** Why, when the verdict is not a plain pass or fail. */
  note?: string;
}

export interface EvaluateOptions {
  seed?: number;
  resamples?: number;
}

const holds = (value: number, op: AssertionOperator, bound: number) =>
  op === '<' ? value < bound : op === '<=' ? value <= bound : op === '>' ? value > bound : value >= bound;
const upward = (op: AssertionOperator) => op === '<' || op === '<=';

const cellsOf = (result: RunResult, network: string, ref: MetricRef) =>
  result.cells.filter((c) => c.network === network && c.workload === ref.workload && c.protocol === ref.protocol);

function values(result: RunResult, network: string, ref: MetricRef, metric: MetricDefinition): Side | undefined | 'not run' {
  const cells = cellsOf(result, network, ref);
  if (cells.length === 0) return 'not run';
  const vs = cells
    .filter((c) => !c.error)
    .sort((a, b) => a.repetition - b.repetition)
    .map(metric.pick)
    .filter((v): v is number => v !== undefined && Number.isFinite(v));
  return vs.length ? { median: median(vs), values: vs } : undefined;
}

const workloadType = (result: RunResult, workload: string) => result.cells.find((c) => c.workload === workload)?.workloadType;
const refText = (r: MetricRef) => `${r.protocol}.${r.workload}.${r.metric}`;

/** The bound in words: "<= 2.2 RTT", "< h2.small.latency.p99", ">= 0.9 x baseline". */
function expectedText(a: Assertion): string {
  const { bound, operator } = a;
  if (bound.kind === 'value') return `${operator} ${formatValue(bound.value, bound.unit)}`;
  const against = bound.kind === 'metric' ? refText(bound.ref) : 'baseline';
  return `${operator} ${bound.factor === 1 ? '' : `${bound.factor} x `}${against}`;
}

type Outcome = Omit<GateCheck, 'assertion' | 'network' | 'expected'>;

function checkValue(a: Assertion & { bound: { kind: 'value' } }, side: Side, metric: MetricDefinition, opts: EvaluateOptions): Outcome {
  const fmt = (v: number) => formatValue(v, metric.unit);
  const n = side.values.length;
  const useCi = n >= MIN_REPETITIONS;
  const [lo, hi] = useCi
    ? bootstrapCI95(side.values, median, { seed: opts.seed ?? 1, resamples: opts.resamples ?? 10_000 })
    : [Math.min(...side.values), Math.max(...side.values)];
  const found = `${fmt(side.median)} (median of ${n})`;
  const interval = n > 1 ? `${fmt(lo)} to ${fmt(hi)} (${useCi ? '95% CI' : 'range'})` : undefined;
  if (holds(side.median, a.operator, a.bound.value)) return { found, interval, verdict: 'pass' };
  // The interval's edge nearest the allowed side: when even it violates, so does (almost) every plausible value.
  const nearest = upward(a.operator) ? lo : hi;
  return holds(nearest, a.operator, a.bound.value)
    ? { found, interval, verdict: 'inconclusive', note: 'the median violates the bound, the interval reaches back across it' }
    : { found, interval, verdict: 'fail' };
}

function checkRatio(a: Assertion, subject: Side, reference: Side, metric: MetricDefinition, factor: number, against: string, opts: EvaluateOptions): Outcome {
  const c = compareValues(metric, reference, subject, opts);
  if (c.change === undefined) return { found: '\u2014', verdict: 'no data', note: `${against} is 0: no ratio` };
  const ratio = 1 + c.change;
  const found = `${ratio.toFixed(3)} x (${formatChange(c.change)}; ${formatValue(subject.median, metric.unit)} vs ${formatValue(reference.median, metric.unit)})`;
  const interval = c.ci95 ? `${formatChange(c.ci95[0])} to ${formatChange(c.ci95[1])} (95% CI of the change)` : undefined;
  if (holds(ratio, a.operator, factor)) return { found, interval, verdict: 'pass' };
  if (c.verdict === 'too few repetitions') {
    return { found, interval, verdict: 'too few repetitions', note: `a ratio needs ${MIN_REPETITIONS}+ repetitions on each side for an interval` };
  }
  const [lo, hi] = c.ci95!.map((x) => 1 + x) as [number, number];
  const significant = upward(a.operator) ? lo > Math.min(1, factor) : hi < Math.max(1, factor);
  return significant
    ? { found, interval, verdict: 'fail' }
    : { found, interval, verdict: 'inconclusive', note: 'violated by the medians, but within the noise of the repetitions' };
}

/** One assertion on one network variant. */
function check(assertion: Assertion, network: string, metric: MetricDefinition, type: string, candidate: RunResult, baseline: RunResult | undefined, opts: EvaluateOptions): Outcome {
  const { subject, bound } = assertion;
  const own = values(candidate, network, subject, metric);
  if (own === 'not run') return { found: '\u2014', verdict: 'not run', note: `${subject.protocol} did not run ${subject.workload} on ${network}` };
  if (!own) return { found: '\u2014', verdict: 'no data', note: `no repetition of ${refText(subject)} on ${network} has this metric (failed cells?)` };
  const few = tooFewSamples(metric, cellsOf(candidate, network, subject));
  if (few) {
    return {
      found: `${formatValue(own.median, metric.unit)} (median of ${own.values.length})`,
      verdict: 'too few samples',
      note: `${metric.id} needs ${few.needed.toLocaleString('en-US')} samples per repetition (10 beyond the percentile); the fewest here is ${few.fewest.toLocaleString('en-US')}`,
    };
  }
  if (bound.kind === 'value') return checkValue({ ...assertion, bound }, own, metric, opts);
  if (bound.kind === 'baseline' && !baseline) {
    return { found: '\u2014', verdict: 'no baseline', note: 'give a baseline: bench run --baseline FILE, or bench gate BASELINE CANDIDATE' };
  }
  const [reference, against] =
    bound.kind === 'metric'
      ? [values(candidate, network, bound.ref, findMetric(workloadType(candidate, bound.ref.workload) ?? type, bound.ref.metric) ?? metric), refText(bound.ref)]
      : [values(baseline!, network, subject, metric), 'baseline'];
  if (reference === 'not run' || !reference) {
    return { found: '\u2014', verdict: reference === 'not run' ? 'not run' : 'no data', note: `${against} has no ${metric.id} on ${network}` };
  }
  return checkRatio(assertion, own, reference, metric, bound.factor, against, opts);
}

/** One check per assertion and network variant the subject's workload ran on. */
export function evaluateAssertions(assertions: readonly Assertion[], candidate: RunResult, baseline?: RunResult, opts: EvaluateOptions = {}): GateCheck[] {
  const checks: GateCheck[] = [];
  for (const assertion of assertions) {
    const { subject } = assertion;
    const expected = expectedText(assertion);
    const type = workloadType(candidate, subject.workload) ?? (baseline && workloadType(baseline, subject.workload));
    const metric = type ? findMetric(type, subject.metric) : undefined;
    const networks = [...new Set(candidate.cells.filter((c) => c.workload === subject.workload).map((c) => c.network))];
    if (!type || !metric || networks.length === 0) {
      checks.push({ assertion, network: '\u2014', expected, found: '\u2014', verdict: 'not run', note: `workload ${subject.workload} is not in this result` });
      continue;
    }
    for (const network of networks) checks.push({ assertion, network, expected, ...check(assertion, network, metric, type, candidate, baseline, opts) });
  }
  return checks;
}

/** Which verdicts stop the build: a failed error-level check, or an error-level check that found no data. */
export function isBlocking(check: GateCheck): boolean {
  return check.assertion.level === 'error' && (check.verdict === 'fail' || check.verdict === 'no data');
}
