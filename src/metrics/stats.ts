/**
 * Statistics across repetitions: median, mean, 95% confidence intervals (Student's t for the
 * mean; a seeded percentile bootstrap for medians and ratios), and the relative difference of two
 * protocols with its interval ("h3 latency.p99 41% lower than h2, 95% CI 35-47%").
 * Repetitions are few (3-10), so every function states which method it used.
 */

export type CiMethod = 't' | 'bootstrap' | 'none';

export interface SampleSummary {
  median: number;
  mean: number;
  ci95: [number, number];
  ciMethod: CiMethod;
}

export function mean(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  return values.reduce((s, v) => s + v, 0) / values.length;
}

/** Middle value (mean of the two middle ones for an even count). */
export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Sample standard deviation (n - 1). */
export function stdev(values: readonly number[]): number {
  if (values.length < 2) return 0;
  const m = mean(values);
  return Math.sqrt(values.reduce((s, v) => s + (v - m) ** 2, 0) / (values.length - 1));
}

/** Two-sided 95% critical values of Student's t (t_{0.975, df}), as printed in textbook tables. */
const T_975: Record<number, number> = {
  1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306, 9: 2.262, 10: 2.228,
  11: 2.201, 12: 2.179, 13: 2.16, 14: 2.145, 15: 2.131, 16: 2.12, 17: 2.11, 18: 2.101, 19: 2.093, 20: 2.086,
  21: 2.08, 22: 2.074, 23: 2.069, 24: 2.064, 25: 2.06, 26: 2.056, 27: 2.052, 28: 2.048, 29: 2.045, 30: 2.042,
  40: 2.021, 60: 2.0, 120: 1.98,
};
const Z_975 = 1.959964;

/** t_{0.975, df}; between table rows, interpolated linearly in 1/df (exact to the 3rd decimal). */
export function tCritical95(df: number): number {
  if (!(df >= 1)) throw new RangeError(`degrees of freedom must be >= 1, got ${df}`);
  const whole = Math.floor(df);
  if (df === whole && T_975[whole] !== undefined) return T_975[whole]!;
  const rows = Object.keys(T_975).map(Number);
  const lower = Math.max(...rows.filter((r) => r <= df));
  const upper = rows.find((r) => r > df);
  const tLow = T_975[lower]!;
  const [tHigh, invHigh] = upper === undefined ? [Z_975, 0] : [T_975[upper]!, 1 / upper];
  const w = (1 / lower - 1 / df) / (1 / lower - invHigh);
  return tLow + w * (tHigh - tLow);
}

/** 95% CI of the mean with Student's t (n >= 2). */
export function meanCI95(values: readonly number[]): [number, number] {
  if (values.length < 2) throw new RangeError('a confidence interval needs at least 2 values');
  const m = mean(values);
  const half = (tCritical95(values.length - 1) * stdev(values)) / Math.sqrt(values.length);
  return [m - half, m + half];
}

/** Median, mean and a 95% CI of the mean (t); one value gets the degenerate interval, method 'none'. */
export function summariseSample(values: readonly number[]): SampleSummary {
  if (values.length === 0) throw new RangeError('cannot summarise an empty sample');
  const m = mean(values);
  if (values.length < 2) return { median: median(values), mean: m, ci95: [m, m], ciMethod: 'none' };
  return { median: median(values), mean: m, ci95: meanCI95(values), ciMethod: 't' };
}

/** mulberry32: a small, fast, seedable PRNG; bootstraps must be reproducible from the run's seed. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface BootstrapOptions {
  seed?: number;
  resamples?: number;
}

/** Percentile bootstrap 95% CI of a statistic of one sample. */
export function bootstrapCI95(
  values: readonly number[],
  statistic: (sample: number[]) => number = median,
  opts: BootstrapOptions = {},
): [number, number] {
  if (values.length === 0) throw new RangeError('cannot bootstrap an empty sample');
  const random = seededRandom(opts.seed ?? 1);
  const stats = Array.from({ length: opts.resamples ?? 10_000 }, () => statistic(resample(values, random)));
  return percentileInterval(stats);
}

export interface Comparison {
  /** statistic(a) / statistic(b): 0.59 means a is 41% lower than b. */
  ratio: number;
  /** 95% CI of the ratio. */
  ci95: [number, number];
  /**
   * 'welch-log': ratio of geometric means, Welch's t interval on log values (both samples >= 2,
   * all positive). 'bootstrap': ratio of medians, percentile bootstrap resampling both samples.
   * 'none': too few values for an interval (ci95 = [ratio, ratio]).
   */
  method: 'welch-log' | 'bootstrap' | 'none';
  /** The interval excludes 1: the difference is unlikely to be noise at the 95% level. */
  significant: boolean;
}

export interface CompareOptions extends BootstrapOptions {
  /** Force a method; by default 'welch-log' when possible, else 'bootstrap' on medians. */
  method?: 'welch-log' | 'bootstrap';
}

/** Welch's 95% CI for mean(a) - mean(b) (unequal variances; Welch-Satterthwaite degrees of freedom). */
export function welchCI95(a: readonly number[], b: readonly number[]): { difference: number; ci95: [number, number]; df: number } {
  if (a.length < 2 || b.length < 2) throw new RangeError("Welch's interval needs at least 2 values per sample");
  const difference = mean(a) - mean(b);
  const va = stdev(a) ** 2 / a.length;
  const vb = stdev(b) ** 2 / b.length;
  const se = Math.sqrt(va + vb);
  if (se === 0) return { difference, ci95: [difference, difference], df: Infinity };
  const df = (va + vb) ** 2 / (va ** 2 / (a.length - 1) + vb ** 2 / (b.length - 1));
  const half = tCritical95(Math.max(1, df)) * se;
  return { difference, ci95: [difference - half, difference + half], df };
}

/** The relative difference of two samples (e.g. per-repetition p99 of h3 vs h2) with a 95% CI. */
export function compareSamples(a: readonly number[], b: readonly number[], opts: CompareOptions = {}): Comparison {
  if (a.length === 0 || b.length === 0) throw new RangeError('both samples need at least one value');
  const positive = [...a, ...b].every((v) => v > 0);
  const method = opts.method ?? (positive && a.length >= 2 && b.length >= 2 ? 'welch-log' : 'bootstrap');
  if (method === 'welch-log') {
    if (!positive) throw new RangeError('the welch-log method needs positive values');
    const { difference, ci95 } = welchCI95(a.map(Math.log), b.map(Math.log));
    const interval: [number, number] = [Math.exp(ci95[0]), Math.exp(ci95[1])];
    return { ratio: Math.exp(difference), ci95: interval, method, significant: interval[0] > 1 || interval[1] < 1 };
  }
  const ratio = median(a) / median(b);
  if (a.length < 2 && b.length < 2) return { ratio, ci95: [ratio, ratio], method: 'none', significant: false };
  const ci95 = percentileInterval(bootstrapRatios(a, b, opts));
  return { ratio, ci95, method: 'bootstrap', significant: ci95[0] > 1 || ci95[1] < 1 };
}

/** median(resample of a) / median(resample of b), finite ones only; the same seed gives the same resamples. */
function bootstrapRatios(a: readonly number[], b: readonly number[], opts: BootstrapOptions): number[] {
  const random = seededRandom(opts.seed ?? 1);
  const ratios = Array.from({ length: opts.resamples ?? 10_000 }, () => median(resample(a, random)) / median(resample(b, random)));
  return ratios.filter(Number.isFinite);
}

/** A test's answer: the two-sided p-value of its null hypothesis, and how it was computed. */
export interface TestResult {
  p: number;
  method: 'bootstrap' | 'exact' | 'normal';
}

/**
 * Two-sided bootstrap p-value of "median(a) / median(b) = nullRatio": twice the share of the
 * resampled ratios (those of `compareSamples`, same seed) on the smaller side of nullRatio, ties
 * counted on both sides, +1 in numerator and denominator (Davison and Hinkley) so it is never 0.
 * It agrees with the percentile interval: p < 0.05 where the 95% interval excludes nullRatio.
 */
export function bootstrapRatioTest(a: readonly number[], b: readonly number[], opts: BootstrapOptions & { nullRatio?: number } = {}): TestResult {
  if (a.length === 0 || b.length === 0) throw new RangeError('both samples need at least one value');
  const at = opts.nullRatio ?? 1;
  const ratios = bootstrapRatios(a, b, opts);
  const below = ratios.filter((r) => r <= at).length;
  const above = ratios.filter((r) => r >= at).length;
  const share = (count: number) => (count + 1) / (ratios.length + 1);
  return { p: Math.min(1, 2 * Math.min(share(below), share(above))), method: 'bootstrap' };
}

/** Samples of at most this many values in all are tested exactly; larger ones by the normal approximation. */
const EXACT_RANK_SUM_LIMIT = 100;

/**
 * Two-sided Mann-Whitney U test (Wilcoxon rank-sum) of "a and b come from one distribution".
 * Exact: the p-value is the share of all C(n, n_a) ways to split the pooled ranks (midranks for
 * ties) that give a rank sum of a at least as far from its mean as the observed one, so it holds
 * for any sample size, 5 repetitions included. Above 100 values in all, the normal approximation
 * with tie and continuity corrections. The smallest p it can give is 2 / C(n, n_a): see
 * `mannWhitneyMinimumP`.
 */
export function mannWhitneyTest(a: readonly number[], b: readonly number[]): TestResult & { u: number } {
  const na = a.length;
  const n = na + b.length;
  if (na === 0 || b.length === 0) throw new RangeError('both samples need at least one value');
  const pooled = [...a.map((v) => ({ v, inA: true })), ...b.map((v) => ({ v, inA: false }))].sort((x, y) => x.v - y.v);
  // Ranks doubled, so midranks of ties stay integers: a tie over 1-based positions i..j ranks i + j.
  const rank2 = new Array<number>(n);
  const tieSizes: number[] = [];
  for (let i = 0; i < n; ) {
    let j = i;
    while (j + 1 < n && pooled[j + 1]!.v === pooled[i]!.v) j++;
    for (let k = i; k <= j; k++) rank2[k] = i + 1 + (j + 1);
    tieSizes.push(j - i + 1);
    i = j + 1;
  }
  const w2 = pooled.reduce((s, x, k) => s + (x.inA ? rank2[k]! : 0), 0);
  const u = w2 / 2 - (na * (na + 1)) / 2;
  const mean2 = na * (n + 1);
  const observed = Math.abs(w2 - mean2);
  if (n <= EXACT_RANK_SUM_LIMIT) {
    // ways[k][s]: ways to pick k of the items seen so far with doubled rank sum s.
    const maxSum = n * (n + 1);
    const ways = Array.from({ length: na + 1 }, () => new Float64Array(maxSum + 1));
    ways[0]![0] = 1;
    let reach = 0;
    for (let item = 0; item < n; item++) {
      const r = rank2[item]!;
      for (let k = Math.min(item + 1, na); k >= 1; k--) {
        const from = ways[k - 1]!;
        const to = ways[k]!;
        for (let s = reach; s >= 0; s--) if (from[s]) to[s + r] += from[s];
      }
      reach += r;
    }
    let total = 0;
    let extreme = 0;
    ways[na]!.forEach((count, s) => {
      total += count;
      if (Math.abs(s - mean2) >= observed) extreme += count;
    });
    return { u, p: Math.min(1, extreme / total), method: 'exact' };
  }
  const nb = n - na;
  const ties = tieSizes.reduce((s, t) => s + t ** 3 - t, 0);
  const variance = ((na * nb) / 12) * (n + 1 - ties / (n * (n - 1)));
  if (variance === 0) return { u, p: 1, method: 'normal' };
  const z = Math.max(0, Math.abs(u - (na * nb) / 2) - 0.5) / Math.sqrt(variance);
  // Two-sided: 2 (1 - Phi(z)) = erfc(z / sqrt 2).
  return { u, p: Math.min(1, erfc(z / Math.SQRT2)), method: 'normal' };
}

/** The smallest two-sided p-value the Mann-Whitney test can give for these sample sizes (no ties): 2 / C(na + nb, na). */
export function mannWhitneyMinimumP(na: number, nb: number): number {
  let splits = 1;
  for (let k = 1; k <= na; k++) splits = (splits * (nb + k)) / k;
  return Math.min(1, 2 / splits);
}

/** Complementary error function (Numerical Recipes' erfcc: relative error below 1.2e-7 everywhere, tails included). */
function erfc(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const poly = -1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277))))))));
  const r = t * Math.exp(-z * z + poly);
  return x >= 0 ? r : 2 - r;
}

/**
 * Holm's step-down adjustment (Holm 1979) of a family of p-values, in their input order: the
 * i-th smallest p is multiplied by (m - i + 1), and each adjusted value is raised to the largest
 * before it, capped at 1. Rejecting where the adjusted p <= alpha keeps the chance of any false
 * rejection in the family at most alpha, whatever the dependence between the tests.
 */
export function holmAdjust(pValues: readonly number[]): number[] {
  const m = pValues.length;
  const order = pValues.map((_, i) => i).sort((i, j) => pValues[i]! - pValues[j]!);
  const adjusted = new Array<number>(m);
  let running = 0;
  order.forEach((i, rank) => {
    running = Math.max(running, Math.min(1, (m - rank) * pValues[i]!));
    adjusted[i] = running;
  });
  return adjusted;
}

/** "41% lower than h2 (95% CI 35-47%)" / "12% higher than h2 (95% CI -3-27%, not significant)". */
export function describeComparison(c: Comparison, baseline: string): string {
  const pct = (r: number) => Math.round(Math.abs(r - 1) * 100);
  const lower = c.ratio < 1;
  const direction = c.ratio === 1 ? 'the same as' : lower ? 'lower than' : 'higher than';
  const head = c.ratio === 1 ? `the same as ${baseline}` : `${pct(c.ratio)}% ${direction} ${baseline}`;
  if (c.method === 'none') return `${head} (one repetition each: no interval)`;
  // Express the interval in the same direction as the headline.
  const signed = (r: number) => Math.round((lower ? 1 - r : r - 1) * 100);
  const [x, y] = [signed(c.ci95[0]), signed(c.ci95[1])].sort((p, q) => p - q);
  return `${head} (95% CI ${x}% to ${y}%${c.significant ? '' : ', not significant'})`;
}

function resample(values: readonly number[], random: () => number): number[] {
  return Array.from({ length: values.length }, () => values[Math.floor(random() * values.length)]!);
}

function percentileInterval(stats: number[]): [number, number] {
  const sorted = stats.sort((x, y) => x - y);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.round(q * (sorted.length - 1))))]!;
  return [at(0.025), at(0.975)];
}
