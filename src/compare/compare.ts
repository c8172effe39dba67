/**
 * Two results, side by side: for every network, workload, protocol and headline metric, the
 * baseline's and the candidate's median across repetitions, the change in percent with its 95%
 * interval, and a verdict. Pure: results in, figures out (compare.html, the terminal table,
 * compare.md and the gate all print these).
 *
 * The unit of evidence is the repetition: requests within one repetition share its connection,
 * its server state and its minute of the machine, so they are not independent samples.
 */
import type { Protocol } from '../drivers/types.ts';
import { PROTOCOLS } from '../drivers/types.ts';
import { compareSamples, median } from '../metrics/stats.ts';
import { measuredHeadline, type MetricDefinition, tooFewSamples } from '../results/catalogue.ts';
import type { Cell, RunResult } from '../results/model.ts';

/** Fewest repetitions per run for a verdict: below it the bootstrap interval is too narrow to trust (its A/A false-alarm rate exceeds 5%). */
export const MIN_REPETITIONS = 5;
export const BOOTSTRAP_RESAMPLES = 10_000;

/** The statistic, as every output names it. */
export const STATISTIC_TEXT =
  `percentile bootstrap of the ratio of medians across repetitions (${BOOTSTRAP_RESAMPLES.toLocaleString('en-US')} resamples, seeded), ` +
  `95% interval; a change is significant when its interval excludes 0; fewer than ${MIN_REPETITIONS} repetitions per run, ` +
  `or a percentile with fewer than 10 samples beyond it per repetition (p99: 1,000): no verdict; ` +
  `each row is judged on its own, not corrected for the number of rows (bench gate corrects its checks against the baseline: Holm)`;

export type Verdict = 'better' | 'worse' | 'no significant change' | 'too few repetitions' | 'too few samples' | 'not measured' | 'not comparable';

export interface Side {
  median: number;
  /** One value per successful repetition, in repetition order. */
  values: number[];
}

export interface MetricChange {
  network: string;
  workload: string;
  workloadType: string;
  protocol: Protocol;
  metric: Pick<MetricDefinition, 'id' | 'label' | 'unit' | 'better'>;
  baseline?: Side;
  candidate?: Side;
  /** candidate / baseline - 1 (0.12 = 12% higher). */
  change?: number;
  /** 95% interval of `change`. */
  ci95?: [number, number];
  verdict: Verdict;
}

export interface CompareOptions {
  minRepetitions?: number;
  seed?: number;
  resamples?: number;
}

const key = (c: Pick<Cell, 'network' | 'workload' | 'protocol'>) => JSON.stringify([c.network, c.workload, c.protocol]);

function side(cells: readonly Cell[], metric: MetricDefinition): Side | undefined {
  const values = [...cells]
    .filter((c) => !c.error)
    .sort((a, b) => a.repetition - b.repetition)
    .map(metric.pick)
    .filter((v): v is number => v !== undefined && Number.isFinite(v));
  return values.length ? { median: median(values), values } : undefined;
}

/** The change of one metric from baseline values to candidate values, with its interval and verdict. */
export function compareValues(
  metric: Pick<MetricDefinition, 'better'>,
  baseline: Side | undefined,
  candidate: Side | undefined,
  opts: CompareOptions = {},
): Pick<MetricChange, 'change' | 'ci95' | 'verdict'> {
  if (!baseline || !candidate) return { verdict: 'not measured' };
  const allZero = [...baseline.values, ...candidate.values].every((v) => v === 0);
  if (allZero) return { change: 0, verdict: 'no significant change' };
  if (baseline.median === 0) return { verdict: 'not comparable' };
  const change = candidate.median / baseline.median - 1;
  const min = opts.minRepetitions ?? MIN_REPETITIONS;
  if (baseline.values.length < min || candidate.values.length < min) return { change, verdict: 'too few repetitions' };
  const c = compareSamples(candidate.values, baseline.values, {
    method: 'bootstrap',
    seed: opts.seed ?? 1,
    resamples: opts.resamples ?? BOOTSTRAP_RESAMPLES,
  });
  const ci95: [number, number] = [c.ci95[0] - 1, c.ci95[1] - 1];
  if (!c.significant) return { change, ci95, verdict: 'no significant change' };
  const higher = change > 0;
  return { change, ci95, verdict: higher === (metric.better === 'higher') ? 'better' : 'worse' };
}

/**
 * Every (network, workload, protocol) of either run, and the headline metrics of the workload
 * measured in either; rows in the baseline's order, then what only the candidate has.
 */
export function compareResults(baseline: RunResult, candidate: RunResult, opts: CompareOptions = {}): MetricChange[] {
  const groups = new Map<string, { a: Cell[]; b: Cell[] }>();
  for (const [cells, which] of [
    [baseline.cells, 'a'],
    [candidate.cells, 'b'],
  ] as const) {
    for (const cell of cells) {
      const g = groups.get(key(cell)) ?? { a: [], b: [] };
      g[which].push(cell);
      groups.set(key(cell), g);
    }
  }
  const rows: MetricChange[] = [];
  const order = (cells: Cell[]) => [...new Set(cells.map((c) => c.network))];
  const networks = [...new Set([...order(baseline.cells), ...order(candidate.cells)])];
  for (const network of networks) {
    const workloads = [...new Set([...baseline.cells, ...candidate.cells].filter((c) => c.network === network).map((c) => c.workload))];
    for (const workload of workloads) {
      for (const protocol of PROTOCOLS) {
        const g = groups.get(JSON.stringify([network, workload, protocol]));
        if (!g) continue;
        const workloadType = (g.a[0] ?? g.b[0])!.workloadType;
        for (const metric of measuredHeadline(workloadType, [...g.a, ...g.b])) {
          const a = side(g.a, metric);
          const b = side(g.b, metric);
          const compared = compareValues(metric, a, b, opts);
          const few = a && b && compared.verdict !== 'too few repetitions' ? tooFewSamples(metric, [...g.a, ...g.b]) : undefined;
          rows.push({
            network,
            workload,
            workloadType,
            protocol,
            metric: { id: metric.id, label: metric.label, unit: metric.unit, better: metric.better },
            ...(a ? { baseline: a } : {}),
            ...(b ? { candidate: b } : {}),
            ...compared,
            ...(few && { verdict: 'too few samples' as const }),
          });
        }
      }
    }
  }
  return rows;
}

export function verdictCounts(rows: readonly MetricChange[]): Record<Verdict, number> {
  const counts: Record<Verdict, number> = {
    better: 0,
    worse: 0,
    'no significant change': 0,
    'too few repetitions': 0,
    'too few samples': 0,
    'not measured': 0,
    'not comparable': 0,
  };
  for (const r of rows) counts[r.verdict]++;
  return counts;
}
