/** How a metric change prints, the same in compare.html, compare.md and the terminal. */
import { PROTOCOL_NAMES } from '../report/context.ts';
import { formatNumber, formatValue } from '../report/format.ts';
import type { MetricChange, Side } from './compare.ts';

/** "+6.5%", "-12%", "0%": three significant digits, always signed. */
export function formatChange(fraction: number): string {
  const pct = fraction * 100;
  if (pct === 0) return '0%';
  return `${pct > 0 ? '+' : '-'}${formatNumber(Math.abs(pct))}%`;
}

/** "12.3 ms (5 reps)". */
export function formatSide(side: Side | undefined, unit: string): string {
  if (!side) return '\u2014';
  return `${formatValue(side.median, unit)} (${side.values.length} rep${side.values.length === 1 ? '' : 's'})`;
}

export interface ChangeText {
  protocol: string;
  metric: string;
  baseline: string;
  candidate: string;
  change: string;
  interval: string;
  verdict: string;
}

export function changeText(row: MetricChange): ChangeText {
  return {
    protocol: PROTOCOL_NAMES[row.protocol],
    metric: `${row.metric.label} (${row.metric.better} is better)`,
    baseline: formatSide(row.baseline, row.metric.unit),
    candidate: formatSide(row.candidate, row.metric.unit),
    change: row.change === undefined ? '\u2014' : formatChange(row.change),
    interval: row.ci95 ? `${formatChange(row.ci95[0])} to ${formatChange(row.ci95[1])}` : '\u2014',
    verdict: row.verdict,
  };
}
