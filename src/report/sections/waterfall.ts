/**
 * A request waterfall from raw.jsonl: one bar per request of one round of one repetition, from
 * sent to done with the first byte marked, and the link's drops on that round's connections as
 * vertical rules. Pure: events in, chart rows out.
 */
import type { Protocol } from '../../drivers/types.ts';
import type { RawEvent } from '../../results/events.ts';

type RequestEvent = Extract<RawEvent, { type: 'request' }>;
type ConnectionEvent = Extract<RawEvent, { type: 'connection' }>;
type DropRawEvent = Extract<RawEvent, { type: 'drop' }>;

export interface CellKey {
  network: string;
  protocol: Protocol;
  workload: string;
  repetition: number;
}

export interface WaterfallBar {
  /** 1-based, in the order requests were sent. */
  index: number;
  startMs: number;
  firstByteMs?: number;
  doneMs: number;
  latencyMs: number;
  path: string;
  bytes: number;
  connection: string;
  status: string;
}

export interface WaterfallDrop {
  tMs: number;
  dir: 'up' | 'down';
  len: number;
  srcPort?: number;
  dstPort?: number;
  tcpSeq?: number;
  reason: string;
}

export interface Waterfall {
  bars: WaterfallBar[];
  drops: WaterfallDrop[];
  /** Which round is shown (1-based) of how many, and why. */
  round: number;
  rounds: number;
  /** Drops per round, for the caption. */
  dropsPerRound: number[];
  /** How the drops were matched to the round: by the connections' client ports, or by time alone. */
  joinedBy: 'port' | 'time';
}

const same = (e: { network?: string; protocol?: string; workload?: string; repetition?: number }, k: CellKey) =>
  e.network === k.network && e.protocol === k.protocol && e.workload === k.workload && e.repetition === k.repetition;

/**
 * Splits the measured requests of a cell into rounds (a round starts when a request is queued
 * after every earlier one finished) and builds the waterfall of the round with the median number
 * of drops, so the picture is typical of the repetition rather than its worst moment.
 */
export function buildWaterfall(raw: readonly RawEvent[], key: CellKey, opts: { phase?: string } = {}): Waterfall | undefined {
  const requests = raw.filter((e): e is RequestEvent => e.type === 'request' && same(e, key) && e.phase === opts.phase);
  if (requests.length === 0) return undefined;
  const connections = raw.filter((e): e is ConnectionEvent => e.type === 'connection' && same(e, key));
  const allDrops = raw.filter((e): e is DropRawEvent => e.type === 'drop' && same(e, key));

  const sorted = [...requests].sort((a, b) => a.queued - b.queued);
  const rounds: RequestEvent[][] = [];
  let lastDone = -Infinity;
  for (const r of sorted) {
    if (r.queued >= lastDone || rounds.length === 0) rounds.push([]);
    rounds[rounds.length - 1]!.push(r);
    lastDone = Math.max(lastDone, r.done);
  }

  const portsByConnection = new Map(connections.map((c) => [c.id, c.localPort]));
  const dropsOf = (round: RequestEvent[]): { drops: DropRawEvent[]; joinedBy: 'port' | 'time' } => {
    const start = Math.min(...round.map((r) => r.sent ?? r.queued));
    const end = Math.max(...round.map((r) => r.done));
    const inTime = allDrops.filter((d) => d.t >= start && d.t <= end);
    const ports = new Set(
      round.map((r) => (r.connectionId ? portsByConnection.get(r.connectionId) : undefined)).filter((p): p is number => p !== undefined),
    );
    if (ports.size === 0) return { drops: inTime, joinedBy: 'time' };
    return { drops: inTime.filter((d) => (d.srcPort !== undefined && ports.has(d.srcPort)) || (d.dstPort !== undefined && ports.has(d.dstPort))), joinedBy: 'port' };
  };
  const perRound = rounds.map(dropsOf);
  const counts = perRound.map((d) => d.drops.length);
  const ranked = counts.map((n, i) => ({ n, i })).sort((a, b) => a.n - b.n || a.i - b.i);
  const chosen = ranked[Math.floor((ranked.length - 1) / 2)]!.i;
  const round = rounds[chosen]!;
  const t0 = Math.min(...round.map((r) => r.queued));
  const bySent = [...round].sort((a, b) => (a.sent ?? a.queued) - (b.sent ?? b.queued) || a.queued - b.queued);
  const shortIds = new Map<string, string>();
  const bars = bySent.map((r, i) => {
    const id = r.connectionId ?? '\u2014';
    if (!shortIds.has(id)) shortIds.set(id, `#${shortIds.size + 1}`);
    return {
      index: i + 1,
      startMs: (r.sent ?? r.queued) - t0,
      firstByteMs: r.firstByte === undefined ? undefined : r.firstByte - t0,
      doneMs: r.done - t0,
      latencyMs: r.done - r.queued,
      path: r.path,
      bytes: r.bytes,
      connection: `${shortIds.get(id)} (${id})`,
      status: r.error ? `error: ${r.error}` : String(r.status ?? '\u2014'),
    };
  });
  const drops = perRound[chosen]!.drops.map((d) => ({
    tMs: d.t - t0,
    dir: d.dir,
    len: d.len,
    srcPort: d.srcPort,
    dstPort: d.dstPort,
    tcpSeq: d.tcpSeq,
    reason: d.reason,
  }));
  return { bars, drops, round: chosen + 1, rounds: rounds.length, dropsPerRound: counts, joinedBy: perRound[chosen]!.joinedBy };
}
