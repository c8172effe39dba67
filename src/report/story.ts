/**
 * The opening of a report: what the run says about the protocols, in numbers, one line per figure
 * that answers a workload's question (connection setup, many requests on one connection, a page
 * load, a move, plain requests), built from whichever of those workloads the run has. Each figure is
 * a median across repetitions read through the catalogue (src/results/catalogue.ts), with its unit
 * and the workload and metric it comes from; the workload's own section has the intervals.
 */
import type { Protocol } from '../drivers/types.ts';
import { histogramMetric, MIGRATION_METRICS, findMetric, type MetricDefinition } from '../results/catalogue.ts';
import { migrationDetails } from '../results/details.ts';
import type { NetworkVariantResult, RunResult } from '../results/model.ts';
import { PROTOCOL_NAMES, ReportContext, type WorkloadScope } from './context.ts';
import { estimate, missingReason } from './estimates.ts';
import { formatNumber, formatValue } from './format.ts';
import { meanHolBlocked } from './sections/multiplex.ts';
import { cellsFor, median, perRepetition } from './sections/workload-figures.ts';

export interface StoryFigure {
  /** As printed, with its unit: "97 ms (2.4 RTT)", "yes", "3". */
  text: string;
  /** The median the ordering uses (absent for yes/no figures). */
  value?: number;
}

export interface StoryLine {
  /** What the figure is: "cold connection to first response byte". */
  what: string;
  /** Where it comes from: workload, metric ids, repetitions. */
  source: string;
  better: 'lower' | 'higher';
  figures: Partial<Record<Protocol, StoryFigure>>;
}

export interface StoryChapter {
  /** The workload it tells of: "handshake (handshake)". */
  workload: string;
  /** One sentence in words, naming protocols and figures. */
  sentence: string;
  lines: StoryLine[];
}

export interface Story {
  network: string;
  protocols: Protocol[];
  chapters: StoryChapter[];
}

const MODES = [
  ['cold', 'a cold connection (full handshake) to its first response byte'],
  ['resumed', 'a resumed connection (session ticket) to its first response byte'],
  ['0rtt', 'a 0-RTT connection (early data) to its first response byte'],
] as const;

/** One story per network variant that has any workload the story tells of. */
export function tellStory(result: RunResult): Story[] {
  const ctx = new ReportContext(result);
  return ctx
    .networks()
    .map((network) => storyOf(ctx, network))
    .filter((s) => s.chapters.length > 0);
}

function storyOf(ctx: ReportContext, network: NetworkVariantResult): Story {
  const scopes = ctx.scopes(network);
  const chapters = scopes.flatMap((scope) => {
    const chapter = CHAPTERS[scope.workloadType]?.(ctx.result, scope);
    return chapter && chapter.lines.length > 0 ? [chapter] : [];
  });
  return { network: network.label, protocols: ctx.protocols(scopes.flatMap((s) => s.cells)), chapters };
}

type ChapterBuilder = (result: RunResult, scope: WorkloadScope) => StoryChapter | undefined;

const CHAPTERS: Record<string, ChapterBuilder> = {
  handshake: (result, scope) => {
    const lines = MODES.flatMap(([mode, what]) => {
      const ms = findMetric('handshake', `${mode}.firstByteMs`)!;
      const rtt = findMetric('handshake', `${mode}.firstByte`)!;
      const line = metricLine(result, scope, ms, what, (p, v) => {
        const inRtt = estimate(result, keyOf(scope, p), rtt);
        return inRtt ? `${formatValue(v, 'ms')} (${formatNumber(inRtt.median, 1)} RTT)` : formatValue(v, 'ms');
      }, [rtt]);
      return line ? [line] : [];
    });
    return chapter(scope, lines, (l) => `Opening ${l.what}: ${ranked(l)}.`);
  },
  multiplex: (result, scope) => {
    const p50 = metricLine(result, scope, histogramMetric('latency', 'p50'), 'median latency of a request among many on one connection, under the link\u2019s loss');
    const stalled = findMetric('multiplex', 'stalledPerLoss')!;
    const stalls = metricLine(result, scope, stalled, 'streams stalled per loss event (mean; of them held by head-of-line blocking)', (p, v) => {
      const hol = perRepetition(scope, p, meanHolBlocked);
      return hol.length ? `${formatNumber(v, 1)} (${formatNumber(median(hol), 1)} HOL-blocked)` : formatNumber(v, 1);
    });
    if (stalls) stalls.source += '; HOL-blocked: the link delivered other data of the connection while the stream waited (details.multiplex.holBlockedPerLoss; for QUIC an upper bound, as the multiplex section explains)';
    return chapter(scope, [p50, stalls], (l) => `${capitalise(l.what)}: ${ranked(l)}.`);
  },
  page: (result, scope) => {
    const line = metricLine(result, scope, histogramMetric('pageLoad', 'p50'), 'page load time (median; the document, then every subresource it names)');
    return chapter(scope, [line], (l) => `${capitalise(l.what)}: ${ranked(l)}.`);
  },
  requests: (result, scope) => {
    const line = metricLine(result, scope, histogramMetric('latency', 'p50'), 'median request latency');
    return chapter(scope, [line], (l) => `${capitalise(l.what)}: ${ranked(l)}.`);
  },
  migration: (result, scope) => {
    const details = scope.cells.map(migrationDetails).find((d) => d !== undefined);
    if (!details) return undefined;
    const move = details.mode === 'handover' ? `handover from ${details.fromPath} to ${details.toPath}` : details.mode === 'rebind' ? `NAT rebinding on ${details.fromPath}` : `outage of ${details.fromPath}`;
    const interruption = metricLine(result, scope, MIGRATION_METRICS.interruptionMs, `${move}: interruption (from the move to the first new byte delivered)`);
    const survivedLine: StoryLine = {
      what: 'connection survived the move',
      source: `workload ${scope.workload} (migration), metric ${MIGRATION_METRICS.connectionSurvived.id}, per repetition`,
      better: 'higher',
      figures: {},
    };
    for (const p of scope.protocols) {
      const ds = cellsFor(scope, p).map(migrationDetails).filter((d) => d !== undefined);
      if (ds.length === 0) continue;
      const kept = ds.filter((d) => d.connectionSurvived).length;
      survivedLine.figures[p] = { text: ds.length === 1 ? (kept ? 'yes' : 'no, connected anew') : `in ${kept} of ${ds.length} repetitions` };
    }
    const retried = metricLine(result, scope, MIGRATION_METRICS.requestsRetried, 'requests sent again after the move');
    const failed = metricLine(result, scope, MIGRATION_METRICS.requestsFailed, 'requests failed in the end');
    const lines = [interruption, survivedLine.figures && Object.keys(survivedLine.figures).length ? survivedLine : undefined, retried, failed];
    return chapter(scope, lines, () => migrationSentence(scope, move, interruption, survivedLine, retried, failed));
  },
};

function keyOf(scope: WorkloadScope, protocol: Protocol) {
  return { network: scope.network.label, protocol, workload: scope.workload };
}

function capitalise(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

function sourceOf(scope: WorkloadScope, metrics: MetricDefinition[]): string {
  const reps = scope.repetitions;
  return `workload ${scope.workload} (${scope.workloadType}), metric ${metrics.map((m) => m.id).join(' and ')}, median of ${reps} repetition${reps === 1 ? '' : 's'}`;
}

/** One figure per protocol that measured it; undefined when none did. */
function metricLine(
  result: RunResult,
  scope: WorkloadScope,
  metric: MetricDefinition,
  what: string,
  text: (protocol: Protocol, median: number) => string = (_p, v) => formatValue(v, metric.unit),
  alsoFrom: MetricDefinition[] = [],
): StoryLine | undefined {
  const figures: Partial<Record<Protocol, StoryFigure>> = {};
  for (const p of scope.protocols) {
    const e = estimate(result, keyOf(scope, p), metric);
    const missing = e ? undefined : missingReason(result, keyOf(scope, p));
    if (e) figures[p] = { text: text(p, e.median), value: e.median };
    else if (missing) figures[p] = { text: missing };
  }
  if (Object.keys(figures).length === 0) return undefined;
  return { what, source: sourceOf(scope, [metric, ...alsoFrom]), better: metric.better, figures };
}

function chapter(scope: WorkloadScope, lines: Array<StoryLine | undefined>, sentenceOf: (first: StoryLine) => string): StoryChapter | undefined {
  const kept = lines.filter((l): l is StoryLine => l !== undefined);
  if (kept.length === 0) return undefined;
  return { workload: `${scope.workload} (${scope.workloadType})`, sentence: sentenceOf(kept[0]!), lines: kept };
}

/** "HTTP/3 97 ms, HTTP/1.1 139 ms, HTTP/2 147 ms": best first, by the metric's direction. */
function ranked(line: StoryLine): string {
  const entries = (Object.entries(line.figures) as Array<[Protocol, StoryFigure]>).filter(([, f]) => f.value !== undefined);
  entries.sort(([, a], [, b]) => (line.better === 'lower' ? a.value! - b.value! : b.value! - a.value!));
  const without = (Object.entries(line.figures) as Array<[Protocol, StoryFigure]>).filter(([, f]) => f.value === undefined);
  return [...entries, ...without].map(([p, f]) => `${PROTOCOL_NAMES[p]} ${f.text}`).join(', ');
}

function migrationSentence(scope: WorkloadScope, move: string, interruption: StoryLine | undefined, survived: StoryLine, retried: StoryLine | undefined, failed: StoryLine | undefined): string {
  const parts = scope.protocols.flatMap((p) => {
    const s = survived.figures[p];
    if (!s) return [];
    const bits = [
      interruption?.figures[p] && `interrupted ${interruption.figures[p]!.text}`,
      retried?.figures[p] && `${retried.figures[p]!.text} sent again`,
      failed?.figures[p] && `${failed.figures[p]!.text} failed`,
    ].filter(Boolean);
    const kept = s.text === 'yes' ? 'kept its connection' : s.text.startsWith('no') ? 'connected anew' : `kept its connection ${s.text}`;
    return [`${PROTOCOL_NAMES[p]} ${kept} (${bits.join(', ')})`];
  });
  // Requests lost on a connection that carried on are the stack's doing; the workload's section names the cause.
  const failedOnSurvivor = scope.protocols.some((p) => survived.figures[p]?.text !== undefined && !survived.figures[p]!.text.startsWith('no') && (failed?.figures[p]?.value ?? 0) > 0);
  return `At the ${move}, ${parts.join('; ')}.${failedOnSurvivor ? ` Why requests failed on a connection that survived: the ${scope.workload} section.` : ''}`;
}

const COUNT_WORDS = ['', 'one', 'two', 'three'];

/** "The three protocols, in numbers". */
export function storyTitle(stories: readonly Story[]): string {
  const n = Math.max(0, ...stories.map((s) => s.protocols.length));
  return n === 1 ? 'The protocol, in numbers' : `The ${COUNT_WORDS[n] ?? n} protocols, in numbers`;
}

/** The story as Markdown, for summary.md. */
export function storyMarkdown(stories: readonly Story[]): string[] {
  if (stories.length === 0) return [];
  const esc = (s: string) => s.replace(/\|/g, '\\|');
  const lines = [`## ${storyTitle(stories)}`];
  for (const story of stories) {
    if (stories.length > 1) lines.push('', `### Network ${esc(story.network)}`);
    lines.push('', story.chapters.map((c) => c.sentence).join(' '), '');
    lines.push(`| workload | figure | ${story.protocols.map((p) => PROTOCOL_NAMES[p]).join(' | ')} | source (result.json) |`);
    lines.push(`| --- | --- | ${story.protocols.map(() => '---:').join(' | ')} | --- |`);
    for (const chapter of story.chapters) {
      for (const line of chapter.lines) {
        const figures = story.protocols.map((p) => esc(line.figures[p]?.text ?? '-'));
        lines.push(`| ${esc(chapter.workload)} | ${esc(line.what)} | ${figures.join(' | ')} | ${esc(line.source)} |`);
      }
    }
  }
  lines.push('', 'Medians across repetitions; "-": not measured for that protocol (its section says why); each workload\u2019s section has the intervals.');
  return lines;
}
