/** The terminal table and compare.md of a comparison. */
import { verdictCounts } from './compare.ts';
import type { Comparison } from './comparison.ts';
import { changeText, type ChangeText } from './format.ts';

const COLUMNS: Array<[keyof ChangeText, string]> = [
  ['protocol', 'protocol'],
  ['metric', 'metric'],
  ['baseline', 'baseline'],
  ['candidate', 'candidate'],
  ['change', 'change'],
  ['interval', '95% interval'],
  ['verdict', 'verdict'],
];

interface Block {
  heading: string;
  rows: ChangeText[];
}

function blocks(comparison: Comparison, candidate: number): Block[] {
  const rows = comparison.candidates.find((c) => c.candidate === candidate)!.rows;
  const out: Block[] = [];
  for (const row of rows) {
    const heading = `network ${row.network}, workload ${row.workload} (${row.workloadType})`;
    let block = out.find((b) => b.heading === heading);
    if (!block) out.push((block = { heading, rows: [] }));
    block.rows.push(changeText(row));
  }
  return out;
}

function countsLine(comparison: Comparison, candidate: number): string {
  const counts = verdictCounts(comparison.candidates.find((c) => c.candidate === candidate)!.rows);
  return Object.entries(counts)
    .filter(([, n]) => n > 0)
    .map(([verdict, n]) => `${n} ${verdict}`)
    .join(', ');
}

function pairTitle(comparison: Comparison, candidate: number): string {
  return `"${comparison.runs[candidate]!.label}" against baseline "${comparison.runs[0]!.label}"`;
}

export function renderCompareText(comparison: Comparison): string {
  const lines: string[] = [];
  lines.push(`Statistic: ${comparison.statistic}.`);
  if (comparison.forcedAcrossScenarios) lines.push(`Forced across scenarios: ${comparison.forcedAcrossScenarios}.`);
  for (const { candidate } of comparison.candidates) {
    lines.push('', `${pairTitle(comparison, candidate)}: ${countsLine(comparison, candidate)}`);
    for (const b of blocks(comparison, candidate)) {
      lines.push('', `  ${b.heading}`);
      const cells = [COLUMNS.map(([, h]) => h), ...b.rows.map((r) => COLUMNS.map(([k]) => r[k]))];
      const widths = COLUMNS.map((_, i) => Math.max(...cells.map((c) => c[i]!.length)));
      for (const c of cells) lines.push('  ' + c.map((v, i) => (i >= 2 && i <= 5 ? v.padStart(widths[i]!) : v.padEnd(widths[i]!))).join('  ').trimEnd());
    }
  }
  lines.push('', differencesText(comparison));
  return lines.join('\n');
}

function differencesText(comparison: Comparison): string {
  if (comparison.differences.length === 0) return 'Environment: no differences between the runs.';
  const lines = [`Environment differences (${comparison.differences.length}):`];
  for (const d of comparison.differences) {
    lines.push(`  ${d.field}: ${d.values.map((v, i) => `${comparison.runs[i]!.label}: ${v}`).join(' | ')}`);
  }
  return lines.join('\n');
}

export function renderCompareMarkdown(comparison: Comparison): string {
  const esc = (s: string) => s.replace(/\|/g, '\\|');
  const lines = ['# bench compare', ''];
  lines.push('| run | result | scenario | started | commit |', '| --- | --- | --- | --- | --- |');
  comparison.runs.forEach((r, i) =>
    lines.push(
      `| ${i === 0 ? '**baseline** ' : ''}${esc(r.label)} | ${esc(r.file)} | ${esc(r.result.scenario.name)} | ${r.result.run.startedAt} | ${esc(r.result.tool.commit ?? '\u2014')} |`,
    ),
  );
  lines.push('', `Statistic: ${comparison.statistic}.`);
  if (comparison.forcedAcrossScenarios) lines.push('', `**Forced across scenarios:** ${esc(comparison.forcedAcrossScenarios)}.`);
  for (const { candidate } of comparison.candidates) {
    lines.push('', `## ${esc(pairTitle(comparison, candidate))}`, '', countsLine(comparison, candidate));
    for (const b of blocks(comparison, candidate)) {
      lines.push('', `### ${esc(b.heading)}`, '');
      lines.push(`| ${COLUMNS.map(([, h]) => h).join(' | ')} |`, `| ${COLUMNS.map((_, i) => (i >= 2 && i <= 5 ? '---:' : '---')).join(' | ')} |`);
      for (const r of b.rows) lines.push(`| ${COLUMNS.map(([k]) => esc(r[k])).join(' | ')} |`);
    }
  }
  lines.push('', '## Environment differences', '');
  if (comparison.differences.length === 0) lines.push('None: the runs agree on scenario, backend, versions and machine.');
  else {
    lines.push(`| field | ${comparison.runs.map((r) => esc(r.label)).join(' | ')} |`, `| --- | ${comparison.runs.map(() => '---').join(' | ')} |`);
    for (const d of comparison.differences) lines.push(`| ${esc(d.field)} | ${d.values.map(esc).join(' | ')} |`);
  }
  return lines.join('\n') + '\n';
}
