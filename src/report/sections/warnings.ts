/** Validity warnings from result.json: why a number may not mean what it seems to. */
import { PROTOCOL_NAMES } from '../context.ts';
import { escapeHtml } from '../escape.ts';
import type { RunResult, Warning } from '../../results/model.ts';

const LEVEL_ORDER: Record<Warning['level'], number> = { error: 0, warn: 1, info: 2 };

export function renderWarnings(result: RunResult): string {
  if (result.warnings.length === 0) return `<p class="ok-note">No validity warnings.</p>`;
  const items = [...result.warnings]
    .sort((a, b) => LEVEL_ORDER[a.level] - LEVEL_ORDER[b.level])
    .map((w) => {
      const where = [
        w.network && `network ${w.network}`,
        w.protocol && PROTOCOL_NAMES[w.protocol],
        w.workload && `workload ${w.workload}`,
      ]
        .filter(Boolean)
        .join(' \u00b7 ');
      return (
        `<li class="warning level-${w.level}"><span class="badge badge-${w.level}">${w.level}</span>` +
        `<code>${escapeHtml(w.code)}</code> ${escapeHtml(w.message)}` +
        (where ? `<span class="where">${escapeHtml(where)}</span>` : '') +
        `</li>`
      );
    });
  return `<ul class="warnings">${items.join('')}</ul>`;
}

export function warningCounts(result: RunResult): Record<Warning['level'], number> {
  const counts = { error: 0, warn: 0, info: 0 };
  for (const w of result.warnings) counts[w.level]++;
  return counts;
}
