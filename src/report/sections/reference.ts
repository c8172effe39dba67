/** report.html: a study's claims beside bench's figures (src/report/reference.ts). */
import type { RunResult } from '../../results/model.ts';
import { PROTOCOL_NAMES } from '../context.ts';
import { escapeHtml } from '../escape.ts';
import { referenceFigures } from '../reference.ts';

export function renderReference(result: RunResult): string | undefined {
  const ref = referenceFigures(result);
  if (!ref) return undefined;
  const blocks = ref.claims.map((c) => {
    const change = c.showsChange ? `<th class="num">${escapeHtml(`${c.networks.at(-1)} / ${c.networks[0]}`)}</th>` : '';
    const rows = c.rows.map(
      (r) =>
        `<tr><th scope="row"><span class="swatch swatch-${r.protocol}"></span>${PROTOCOL_NAMES[r.protocol]}</th>` +
        r.values.map((v) => (v === undefined ? `<td class="num missing">\u2014</td>` : `<td class="num">${escapeHtml(v)}</td>`)).join('') +
        (c.showsChange ? `<td class="num">${escapeHtml(r.change ?? '\u2014')}</td>` : '') +
        `</tr>`,
    );
    return (
      `<h3>\u201c${escapeHtml(c.claim.says)}\u201d</h3>` +
      `<div class="table-wrap"><table class="compact reference"><caption>Measured: ${escapeHtml(c.measured)}; medians across repetitions, per network.</caption>` +
      `<thead><tr><th>Protocol</th>${c.networks.map((n) => `<th class="num">${escapeHtml(n)}</th>`).join('')}${change}</tr></thead>` +
      `<tbody>${rows.join('')}</tbody></table></div>`
    );
  });
  return (
    `<section id="reference"><h2>${escapeHtml(`What ${ref.source} found, beside this run`)}</h2>` +
    `<p class="section-note">The study's claims as the scenario quotes them; below each, bench's figure for the metric it concerns. Read the direction from the numbers: bench gives no verdict on a claim in words.</p>` +
    blocks.join('') +
    `</section>`
  );
}
