/**
 * The report's opening story: built from whichever workloads a run has, each figure the median of
 * the cells' own details (computed here from the details, not through the catalogue), and placed
 * first in report.html and summary.md.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { Protocol } from '../../src/drivers/types.ts';
import { median } from '../../src/metrics/index.ts';
import { renderReport } from '../../src/report/html.ts';
import { tellStory, type Story } from '../../src/report/story.ts';
import { renderSummaryMarkdown } from '../../src/report/summary.ts';
import { handshakeMode, migrationDetails, pageDetails } from '../../src/results/details.ts';
import type { Cell, RunResult } from '../../src/results/model.ts';
import { workloadsFixture } from './workloads-fixture.ts';

let result: RunResult;
let stories: Story[];
beforeAll(async () => {
  result = (await workloadsFixture()).result;
  stories = tellStory(result);
});

/** Cells of one workload, named by its name or, where it is the only one of its type, its type. */
const cellsOf = (network: string, workload: string, protocol: Protocol): Cell[] =>
  result.cells.filter((c) => c.network === network && (c.workload === workload || c.workloadType === workload) && c.protocol === protocol && !c.error);

function line(story: Story, workload: string, what: RegExp) {
  const chapter = story.chapters.find((c) => c.workload.startsWith(`${workload} (`) || c.workload.endsWith(`(${workload})`));
  const found = chapter?.lines.find((l) => what.test(l.what));
  if (!found) throw new Error(`no line ${what} in chapter ${workload} of network ${story.network}`);
  return found;
}

describe('the story of the protocols, in numbers', () => {
  it('is told for every network that has a workload it knows, and only of the workloads there', () => {
    const networksWithCells = [...new Set(result.cells.map((c) => c.network))];
    expect(stories.map((s) => s.network).sort()).toEqual(networksWithCells.sort());
    for (const story of stories) {
      const workloads = new Set(result.cells.filter((c) => c.network === story.network).map((c) => `${c.workload} (${c.workloadType})`));
      for (const chapter of story.chapters) expect(workloads.has(chapter.workload), chapter.workload).toBe(true);
    }
  });

  it('gives the cold first byte as the median over repetitions of each cell\u2019s own median', () => {
    const story = stories.find((s) => s.chapters.some((c) => c.workload.endsWith('(handshake)')))!;
    const cold = line(story, 'handshake', /^a cold connection/);
    for (const p of story.protocols) {
      const own = cellsOf(story.network, 'handshake', p).map((c) => handshakeMode(c, 'cold')!.phases.firstByte!.medianMs!);
      expect(cold.figures[p]!.value).toBeCloseTo(median(own), 6);
      expect(cold.figures[p]!.text).toMatch(/ ms \(\d+(\.\d)? RTT\)$/);
    }
  });

  it('gives the page load p50 and the move\u2019s outcome from the details', () => {
    const pageStory = stories.find((s) => s.chapters.some((c) => c.workload.endsWith('(page)')))!;
    const load = line(pageStory, 'page', /^page load time/);
    for (const p of pageStory.protocols) {
      const cells = cellsOf(pageStory.network, 'page', p);
      expect(pageDetails(cells[0]!)).toBeDefined();
      expect(load.figures[p]!.value).toBeCloseTo(median(cells.map((c) => c.metrics.pageLoad!.p50)), 6);
    }
    const moves = stories.find((s) => s.network === 'wifi-to-lte')!;
    for (const workload of ['handover', 'rebind']) {
      const survived = line(moves, workload, /^connection survived/);
      const retried = line(moves, workload, /^requests sent again/);
      for (const p of moves.protocols) {
        const ds = cellsOf(moves.network, workload, p).map((c) => migrationDetails(c)!);
        const kept = ds.filter((d) => d.connectionSurvived).length;
        expect(survived.figures[p]!.text).toBe(`in ${kept} of ${ds.length} repetitions`);
        expect(retried.figures[p]!.value).toBe(median(ds.map((d) => d.requestsRetried)));
      }
      expect(moves.chapters.find((c) => c.workload.startsWith(`${workload} (`))!.sentence).toMatch(/^At the (handover|NAT rebinding)/);
    }
  });

  it('every line names its workload and metric', () => {
    for (const story of stories) for (const c of story.chapters) for (const l of c.lines) expect(l.source).toMatch(/^workload \S+ \(\w+\), metric \S+/);
  });

  it('opens report.html and summary.md', () => {
    const html = renderReport(result);
    const storyAt = html.indexOf('<section id="story">');
    expect(storyAt).toBeGreaterThan(0);
    expect(storyAt).toBeLessThan(html.indexOf('<section class="network"'));
    const md = renderSummaryMarkdown(result);
    expect(md.indexOf('## The three protocols, in numbers')).toBeGreaterThan(0);
    expect(md.indexOf('## The three protocols, in numbers')).toBeLessThan(md.indexOf('## network '));
  });

  it('is absent when the run has no cells', () => {
    const empty = { ...result, cells: [], summaries: [] } as RunResult;
    expect(tellStory(empty)).toEqual([]);
    expect(renderReport(empty)).not.toContain('id="story"');
  });
});
