/**
 * The CI gate: assertions evaluated over result.json, by a pure function. A check fails only when
 * the data show the violation beyond noise; a violated point estimate that the repetitions do not
 * show significant is "inconclusive" (reported, never failing), so a gate on a shared, noisy
 * runner stops a real regression and lets noise through.
 *
 * - A value bound (`<= 2.2 rtt`): the median of the repetitions, with a bootstrap 95% interval of
 *   the median (5+ repetitions) or their range; fails when the whole interval violates the bound.
 * - A ratio bound (`< 0.8 h2....`, `>= 0.9 baseline`): the ratio of medians with its bootstrap
 *   interval (compare.ts); fails when the ratio violates the factor AND a two-sided test rejects
 *   the less demanding of "no difference" and the factor: a tolerance (`<= 1.1 baseline`) then
 *   fails on a significant change beyond it, a demand (`< 0.8 h2`) on a significant shortfall.
 * - The family: every error-level check against the baseline that got a test. Any one of them
 *   fails the build, so their p-values are adjusted together (Holm) to keep the chance that a run
 *   without a regression fails at alpha, however many checks a scenario has.
 */
import { bootstrapCI95, bootstrapRatioTest, holmAdjust, mannWhitneyMinimumP, mannWhitneyTest, median } from '../metrics/stats.ts';
import { BOOTSTRAP_RESAMPLES, compareValues, MIN_REPETITIONS, type Side } from '../compare/compare.ts';
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
  /** A ratio bound's two-sided p-value (the family's test), when it got a test. */
  p?: number;
  /** `p` adjusted over the family (Holm), for its members: the figure the verdict compares with alpha. */
  adjustedP?: number;
  verdict: GateVerdict;
  /** Why, when the verdict is not a plain pass or fail. */
  note?: string;
}

/** How a ratio bound's p-value is computed: a bootstrap of the ratio of medians, or the exact Mann-Whitney U test. */
export type SignificanceTest = 'bootstrap' | 'mann-whitney';
/** How the family's p-values are adjusted for their number: Holm's step-down, or not at all. */
export type FamilyCorrection = 'holm' | 'none';

export interface GateSignificance {
  test: SignificanceTest;
  correction: FamilyCorrection;
  /** Family-wise with Holm, per check without. */
  alpha: number;
}

/** The gate's defaults, calibrated on this machine (docs/ci.md, `npm run calibrate`). */
export const GATE_SIGNIFICANCE: GateSignificance = { test: 'bootstrap', correction: 'holm', alpha: 0.05 };

export interface GateFamily extends GateSignificance {
  /** Error-level checks against the baseline that got a test: the p-values the correction spans. */
  size: number;
  /**
   * Set when the test cannot give a p-value small enough for any member to fail (Mann-Whitney
   * with few repetitions and a large family): the gate would pass every regression.
   */
  powerless?: string;
}

export interface GateEvaluation {
  checks: GateCheck[];
  family: GateFamily;
}

export interface EvaluateOptions extends Partial<GateSignificance> {
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

type Outcome = Omit<GateCheck, 'assertion' | 'network' | 'expected'> & {
  /** A tested ratio bound the medians violate: fail or inconclusive once the family's p-values are adjusted. */
  violated?: boolean;
  /** The smallest p-value its test can give here. */
  minimumP?: number;
};

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
  const violated = !holds(ratio, a.operator, factor);
  if (c.verdict === 'too few repetitions') {
    return violated
      ? { found, interval, verdict: 'too few repetitions', note: `a ratio needs ${MIN_REPETITIONS}+ repetitions on each side for a test` }
      : { found, interval, verdict: 'pass' };
  }
  // The null hypothesis is the less demanding of "no difference" and the factor.
  const nullRatio = upward(a.operator) ? Math.min(1, factor) : Math.max(1, factor);
  const test = opts.test ?? GATE_SIGNIFICANCE.test;
  const p =
    test === 'mann-whitney'
      ? mannWhitneyTest(subject.values, reference.values.map((v) => v * nullRatio)).p
      : bootstrapRatioTest(subject.values, reference.values, { nullRatio, seed: opts.seed ?? 1, resamples: opts.resamples ?? BOOTSTRAP_RESAMPLES }).p;
  const minimumP = test === 'mann-whitney' ? mannWhitneyMinimumP(subject.values.length, reference.values.length) : undefined;
  return { found, interval, p, verdict: violated ? 'fail' : 'pass', violated, ...(minimumP !== undefined && { minimumP }) };
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

/**
 * One check per assertion and network variant the subject's workload ran on, and the family whose
 * p-values were adjusted together. A tested ratio bound the medians violate fails when its p-value
 * (adjusted, for a family member) is at most alpha, and is inconclusive otherwise.
 */
export function evaluateGate(assertions: readonly Assertion[], candidate: RunResult, baseline?: RunResult, opts: EvaluateOptions = {}): GateEvaluation {
  const significance: GateSignificance = {
    test: opts.test ?? GATE_SIGNIFICANCE.test,
    correction: opts.correction ?? GATE_SIGNIFICANCE.correction,
    alpha: opts.alpha ?? GATE_SIGNIFICANCE.alpha,
  };
  const outcomes: (Outcome & Pick<GateCheck, 'assertion' | 'network' | 'expected'>)[] = [];
  for (const assertion of assertions) {
    const { subject } = assertion;
    const expected = expectedText(assertion);
    const type = workloadType(candidate, subject.workload) ?? (baseline && workloadType(baseline, subject.workload));
    const metric = type ? findMetric(type, subject.metric) : undefined;
    const networks = [...new Set(candidate.cells.filter((c) => c.workload === subject.workload).map((c) => c.network))];
    if (!type || !metric || networks.length === 0) {
      outcomes.push({ assertion, network: '\u2014', expected, found: '\u2014', verdict: 'not run', note: `workload ${subject.workload} is not in this result` });
      continue;
    }
    for (const network of networks) outcomes.push({ assertion, network, expected, ...check(assertion, network, metric, type, candidate, baseline, { ...opts, ...significance }) });
  }

  const members = outcomes.filter((o) => o.p !== undefined && o.assertion.level === 'error' && o.assertion.bound.kind === 'baseline');
  if (significance.correction === 'holm') holmAdjust(members.map((o) => o.p!)).forEach((adjusted, i) => (members[i]!.adjustedP = adjusted));
  const family: GateFamily = { ...significance, size: members.length };
  // Holm's first step compares the smallest p with alpha / size: a test that cannot go below it fails nothing.
  const threshold = significance.correction === 'holm' ? significance.alpha / members.length : significance.alpha;
  const minimumPs = members.map((o) => o.minimumP).filter((x): x is number => x !== undefined);
  if (minimumPs.length === members.length && members.length > 0 && Math.min(...minimumPs) > threshold) {
    const needed = significance.correction === 'holm' ? `the ${formatP(threshold)} Holm needs for the first of ${members.length} checks` : `alpha (${threshold})`;
    family.powerless =
      `the ${TEST_NAME[significance.test]} test's smallest p-value with these repetitions is ${formatP(Math.min(...minimumPs))}, above ${needed}: ` +
      'no check against the baseline can fail; give the runs more repetitions';
  }

  const checks = outcomes.map(({ violated, minimumP: _, ...o }): GateCheck => {
    if (!violated) return o;
    const p = o.adjustedP ?? o.p!;
    if (p <= significance.alpha) return { ...o, verdict: 'fail' };
    const alone = o.adjustedP !== undefined && o.p! <= significance.alpha;
    const note = alone
      ? `violated by the medians, significant alone (p ${formatP(o.p!)}) but not after Holm over ${members.length} checks (adjusted p ${formatP(p)})`
      : 'violated by the medians, but within the noise of the repetitions';
    return { ...o, verdict: 'inconclusive', note };
  });
  return { checks, family };
}

/** A p-value in two significant digits: "0.0079", "0.31", "< 0.0001". */
export function formatP(p: number): string {
  return p < 1e-4 ? '< 0.0001' : String(Number(p.toPrecision(2)));
}

const TEST_NAME: Record<SignificanceTest, string> = { bootstrap: 'bootstrap', 'mann-whitney': 'Mann-Whitney U' };
const TEST_TEXT: Record<SignificanceTest, string> = {
  bootstrap: 'bootstrap of the ratio of medians, two-sided',
  'mann-whitney': 'Mann-Whitney U, exact, two-sided',
};

/** The statistic and the family in one line, as every output of the gate states it: "Holm over 6 checks against the baseline, alpha 0.05 (...)". */
export function significanceText(f: GateFamily): string {
  const test = `p-values: ${TEST_TEXT[f.test]}`;
  const family =
    f.size === 0
      ? `alpha ${f.alpha} per check (${test}); no checks against the baseline`
      : f.correction === 'holm'
        ? `Holm over ${f.size} check${f.size === 1 ? '' : 's'} against the baseline, alpha ${f.alpha} (${test})`
        : `alpha ${f.alpha} per check, no correction over the ${f.size} check${f.size === 1 ? '' : 's'} against the baseline (${test})`;
  return `significance: ${family}` + (f.powerless ? `; WARNING: ${f.powerless}` : '');
}

/** Which verdicts stop the build: a failed error-level check, or an error-level check that found no data. */
export function isBlocking(check: GateCheck): boolean {
  return check.assertion.level === 'error' && (check.verdict === 'fail' || check.verdict === 'no data');
}
