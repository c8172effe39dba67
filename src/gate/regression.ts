/**
 * `--max-regression 10%`: one error-level assertion per headline metric of every (workload,
 * protocol) the candidate ran, against the same metric of the baseline, in the metric's own
 * direction: `h2.small.latency.p99 <= 1.1 baseline`, `h2.small.requestsPerSec >= 0.9 baseline`.
 */
import { PROTOCOLS } from '../drivers/types.ts';
import type { Assertion } from '../results/assertions.ts';
import { measuredHeadline } from '../results/catalogue.ts';
import type { RunResult } from '../results/model.ts';

export { DEFAULT_MAX_REGRESSION } from './defaults.ts';

export function regressionAssertions(candidate: RunResult, baseline: RunResult, maxRegression: number): Assertion[] {
  const out: Assertion[] = [];
  const workloads = [...new Set(candidate.cells.map((c) => c.workload))];
  for (const workload of workloads) {
    for (const protocol of PROTOCOLS) {
      const cells = [...candidate.cells, ...baseline.cells].filter((c) => c.workload === workload && c.protocol === protocol);
      if (!candidate.cells.some((c) => c.workload === workload && c.protocol === protocol)) continue;
      for (const metric of measuredHeadline(cells[0]!.workloadType, cells)) {
        const lower = metric.better === 'lower';
        const factor = Number((lower ? 1 + maxRegression : 1 - maxRegression).toFixed(6));
        const operator = lower ? '<=' : '>=';
        const subject = { protocol, workload, metric: metric.id };
        out.push({ text: `${protocol}.${workload}.${metric.id} ${operator} ${factor} baseline`, level: 'error', subject, operator, bound: { kind: 'baseline', factor } });
      }
    }
  }
  return out;
}
