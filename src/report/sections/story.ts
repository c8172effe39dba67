/** The report's opening: the story of the protocols in numbers (src/report/story.ts), as HTML. */
import { PROTOCOL_NAMES } from '../context.ts';
import { escapeHtml } from '../escape.ts';
import { storyTitle, type Story } from '../story.ts';

export function renderStory(stories: readonly Story[]): string | undefined {
  if (stories.length === 0) return undefined;
  const blocks = stories.map((story) => {
    const rows = story.chapters.flatMap((chapter) =>
      chapter.lines.map((line, i) => {
        const cells = story.protocols.map((p) => {
          const f = line.figures[p];
          return f
            ? `<td class="num" title="${escapeHtml(`${PROTOCOL_NAMES[p]}: ${line.what}. Source: result.json, ${line.source}`)}">${escapeHtml(f.text)}</td>`
            : `<td class="num missing" title="not measured for ${PROTOCOL_NAMES[p]} (its workload section says why)">\u2014</td>`;
        });
        const workload = i === 0 ? `<th scope="rowgroup" rowspan="${chapter.lines.length}">${escapeHtml(chapter.workload)}</th>` : '';
        return `<tr>${workload}<td>${escapeHtml(line.what)}</td>${cells.join('')}</tr>`;
      }),
    );
    const heading = stories.length > 1 ? `<h3>Network ${escapeHtml(story.network)}</h3>` : '';
    return (
      heading +
      `<p class="description">${escapeHtml(story.chapters.map((c) => c.sentence).join(' '))}</p>` +
      `<div class="table-wrap"><table class="compact story"><caption>Medians across repetitions, from result.json (hover a figure for its workload and metric); each workload's section below has the intervals and the detail.</caption>` +
      `<thead><tr><th>Workload</th><th>Figure</th>${story.protocols.map((p) => `<th class="num"><span class="swatch swatch-${p}"></span>${PROTOCOL_NAMES[p]}</th>`).join('')}</tr></thead>` +
      `<tbody>${rows.join('')}</tbody></table></div>`
    );
  });
  return `<section id="story"><h2>${escapeHtml(storyTitle(stories))}</h2>${blocks.join('')}</section>`;
}
