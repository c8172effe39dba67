/**
 * A scenario's `reference:` beside the run: each claim of the study with bench's figure for its
 * metric, per protocol and network variant (medians across repetitions), and, across a sweep, the
 * change from the first variant to the last, so the measured direction stands next to the claimed one.
 */
import type { Protocol } from '../drivers/types.ts';
import { findMetric } from '../results/catalogue.ts';
import type { ReferenceClaim } from '../results/reference.ts';
import type { RunResult } from '../results/model.ts';
import { ReportContext } from './context.ts';
import { estimate, missingReason } from './estimates.ts';
import { formatNumber, formatValue } from './format.ts';

export interface ClaimFigures {
  claim: ReferenceClaim;
  /** "latency p50 (ms), workload multiplex". */
  measured: string;
  networks: string[];
  /** Whether the last network's figure over the first's is shown (a sweep, a metric whose ratio means something). */
  showsChange: boolean;
  rows: Array<{ protocol: Protocol; values: Array<string | undefined>; change?: string }>;
}

/** Units whose ratio means something (not counts such as a 0/1 "survived"). */
const RATIO_UNITS = new Set(['ms', 'rtt', 'streams', 'bytes', 'req/s', 'bit/s']);

export function referenceFigures(result: RunResult): { source: string; claims: ClaimFigures[] } | undefined {
  const reference = result.scenario.reference;
  if (!reference) return undefined;
  const ctx = new ReportContext(result);
  const networks = ctx.networks().map((n) => n.label);
  const claims = reference.claims.map((claim): ClaimFigures => {
    const cells = result.cells.filter((c) => c.workload === claim.workload);
    const metric = cells[0] && findMetric(cells[0].workloadType, claim.metric);
    const measured = metric ? `${metric.label}${metric.unit === 'count' ? '' : ` (${metric.unit})`}, workload ${claim.workload}` : `${claim.metric}, workload ${claim.workload} (not measured)`;
    const showsChange = metric !== undefined && networks.length > 1 && RATIO_UNITS.has(metric.unit);
    const rows = ctx.protocols(cells).map((protocol) => {
      const medians = networks.map((network) => (metric ? estimate(result, { network, protocol, workload: claim.workload }, metric)?.median : undefined));
      const first = medians[0];
      const last = medians.at(-1);
      const change =
        showsChange && first !== undefined && last !== undefined && first > 0
          ? `\u00d7${formatNumber(last / first, 2)}`
          : undefined;
      const values = medians.map((v, i) => (v !== undefined && metric ? formatValue(v, metric.unit) : missingReason(result, { network: networks[i]!, protocol, workload: claim.workload })));
      return { protocol, values, ...(change && { change }) };
    });
    return { claim, measured, networks, showsChange, rows };
  });
  return { source: reference.source, claims };
}
