/**
 * Head-of-line analysis: joins the link's drop log with per-request chunk arrival times.
 * Pure: records and drops in, per-loss-event stall figures out.
 *
 * A stream is "stalled" by a loss event when it was in flight when the lost packet would have
 * arrived, and then received nothing for longer than it normally waits between chunks (at least
 * half a base RTT): on HTTP/2 a lost TCP segment holds back every stream behind it until the
 * retransmission arrives; on HTTP/3 only the stream whose data was in the lost packet waits.
 *
 * A stall is split by what the link did meanwhile (its delivery log, when the backend keeps one):
 * head-of-line blocked when the link kept delivering data packets of the stream's connection to
 * the client while the stream got no bytes (its data waits behind a hole); congestion-stalled
 * when the link delivered nothing of that connection (the sender was held by its window or a
 * retransmission timeout). For QUIC the head-of-line count is an upper bound (a stream the sender
 * did not schedule also gets nothing); the exact form, bytes held above a hole, comes from the
 * cell's capture (src/capture/exact-hol.ts), joined by the loss events' times recorded here.
 */
import type { ConnectionRecord, RequestRecord } from '../drivers/types.ts';
import type { DropEvent } from '../../netem/types.ts';
import { median } from '../metrics/stats.ts';

export interface LossEventStall {
  /** When the drop happened at the link (monoMs). */
  t: number;
  dir: 'up' | 'down';
  /** Streams in flight when the lost packet would have arrived. */
  inFlight: number;
  /** Of those, how many then waited longer than their usual gap. */
  stalled: number;
  /** Stall time (ms) of each stalled stream. */
  stallMs: number[];
  /** Of the stalled, how many were head-of-line blocked; undefined without a delivery log. */
  holBlocked?: number;
  /** Of the stalled, how many were stalled with nothing delivered; undefined without a delivery log. */
  congestionStalled?: number;
  /** The head-of-line blocked ones, by their index in `requests`; undefined without a delivery log. */
  holRequests?: number[];
  /**
   * The in-flight requests (by index) that got nothing for more than half a base RTT in a silence
   * ending after the lost packet would have arrived and beginning within 2 RTT of it, stalled or
   * not: a stream held behind a hole that long, from then, is among them (the exact form's cross-check).
   */
  waitedRequests: number[];
}

export interface HolAnalysisInput {
  requests: RequestRecord[];
  drops: DropEvent[];
  /** One-way delay of the direction the drop happened in, ms (the lost packet would have arrived this much later). */
  oneWayDelayMs: { up: number; down: number };
  baseRttMs: number;
  /** The link's deliveries of data packets to the client by client port (monoMs, ascending); absent when unknown. */
  deliveries?: Record<number, number[]>;
  /** The client port of a request's connection, for joining with deliveries. */
  portOf?: (record: RequestRecord) => number | undefined;
}

/** Whether any delivery time lies strictly inside (from, to). */
function deliveredWithin(times: number[] | undefined, from: number, to: number): boolean {
  if (!times) return false;
  let lo = 0;
  let hi = times.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (times[mid]! <= from) lo = mid + 1;
    else hi = mid;
  }
  return lo < times.length && times[lo]! < to;
}

function typicalGap(progress: Array<[number, number]>): number {
  const gaps: number[] = [];
  for (let i = 1; i < progress.length; i++) gaps.push(progress[i]![0] - progress[i - 1]![0]);
  return gaps.length === 0 ? 0 : median(gaps);
}

/** The time from `t` to the stream's next data arrival (or its completion), if it was in flight at t. */
function waitAfter(record: RequestRecord, t: number): number | undefined {
  const started = record.sent ?? record.queued;
  if (t < started || t >= record.done) return undefined;
  const next = record.progress?.find(([at]) => at > t)?.[0] ?? record.done;
  return next - t;
}

/**
 * The longest time the request received nothing (between its send, its chunks and its end) among
 * the silences that end after `t` and begin before `t + windowMs`. Measured from its chunks, not
 * from `t`: bytes that left just before the lost packet can reach the application just after `t`.
 */
function longestSilenceAround(record: RequestRecord, t: number, windowMs: number): number {
  const times = [record.sent ?? record.queued, ...(record.progress ?? []).map(([at]) => at), record.done];
  let longest = 0;
  for (let i = 1; i < times.length; i++) {
    if (times[i]! > t && times[i - 1]! < t + windowMs) longest = Math.max(longest, times[i]! - times[i - 1]!);
  }
  return longest;
}

export function analyseHeadOfLine(input: HolAnalysisInput): LossEventStall[] {
  const threshold = (r: RequestRecord) =>
    Math.max(0.5 * input.baseRttMs, 3 * typicalGap(r.progress ?? []), 1);
  // Merge drops closer together than 1 ms: one burst is one loss event for the streams.
  const drops = [...input.drops].sort((a, b) => a.t - b.t);
  const events: DropEvent[] = [];
  for (const d of drops) {
    const last = events[events.length - 1];
    if (last && d.t - last.t < 1 && d.dir === last.dir) continue;
    events.push(d);
  }
  return events.map((drop) => {
    const arrival = drop.t + (drop.dir === 'down' ? input.oneWayDelayMs.down : input.oneWayDelayMs.up);
    const stallMs: number[] = [];
    let inFlight = 0;
    const holRequests: number[] = [];
    const waitedRequests: number[] = [];
    input.requests.forEach((r, index) => {
      if (r.error) return;
      const wait = waitAfter(r, arrival);
      if (wait === undefined) return;
      inFlight++;
      if (longestSilenceAround(r, arrival, 2 * input.baseRttMs) > 0.5 * input.baseRttMs) waitedRequests.push(index);
      if (wait <= threshold(r)) return;
      stallMs.push(wait);
      const port = input.portOf?.(r);
      if (input.deliveries && port !== undefined && deliveredWithin(input.deliveries[port], arrival, arrival + wait)) holRequests.push(index);
    });
    const split = input.deliveries ? { holBlocked: holRequests.length, congestionStalled: stallMs.length - holRequests.length, holRequests } : {};
    return { t: drop.t, dir: drop.dir, inFlight, stalled: stallMs.length, stallMs, waitedRequests, ...split };
  });
}

/** Where a connection meets the link: the path it runs on and the client's port (as the client knows it). */
export interface ClientEndpoint {
  path: string;
  port: number;
}

/**
 * Each connection's endpoint: its client port on the path whose client address it used (the
 * default route, the first path, when its address is unknown). Drops carry the path, not the address.
 */
export function connectionEndpoints(connections: readonly ConnectionRecord[], clientAddresses: Readonly<Record<string, string>>): ClientEndpoint[] {
  const paths = Object.entries(clientAddresses);
  const pathOf = (address: string | undefined) => paths.find(([, a]) => a === address)?.[0] ?? paths[0]?.[0];
  return connections.flatMap((c) => {
    const path = pathOf(c.localAddress);
    return c.localPort !== undefined && path !== undefined ? [{ path, port: c.localPort }] : [];
  });
}

/**
 * Only the drops that belong to these connections: on their path, to or from the client's port
 * (the source of what the client sent, the destination of what it was sent). The link logs the
 * client's own port even behind a rebinding NAT; a connection that moved has an endpoint per path.
 */
export function dropsForEndpoints(drops: DropEvent[], endpoints: readonly ClientEndpoint[]): DropEvent[] {
  const keys = new Set(endpoints.map((e) => `${e.path}:${e.port}`));
  return drops.filter((d) => {
    const clientPort = d.dir === 'up' ? d.srcPort : d.dstPort;
    return clientPort !== undefined && keys.has(`${d.path}:${clientPort}`);
  });
}
