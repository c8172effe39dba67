/**
 * Slow start as the link saw it: how many data packets the link delivered to the client in each
 * round trip of a transfer. With a link that does not queue, the first round trip's count is the
 * server's congestion window as the transfer began: its initial window (RFC 9002 section 7.2 and
 * RFC 6928 recommend 10 packets; quic-go uses 32) plus what acknowledged handshake packets added
 * in slow start. The counts after it show the window's growth, so a latency gap between two
 * stacks on the same path can be read off as rounds of slow start.
 */

import { median } from '../metrics/stats.ts';

/**
 * Packets per round trip: deliveries bucketed by whole round trips from the first one. `times`
 * holds delivery times (ms) of every connection of one transfer, in any order; at most `maxRounds`
 * buckets are returned, the last non-empty one ending the list.
 */
export function packetsPerRoundTrip(times: readonly number[], rttMs: number, maxRounds = 12): number[] {
  if (times.length === 0 || !(rttMs > 0)) return [];
  let first = Infinity;
  for (const t of times) if (t < first) first = t; // a spread would overflow the stack on long transfers
  const counts = new Array<number>(maxRounds).fill(0);
  for (const t of times) {
    const round = Math.floor((t - first) / rttMs);
    if (round < maxRounds) counts[round]!++;
  }
  let end = counts.length;
  while (end > 0 && counts[end - 1] === 0) end--;
  return counts.slice(0, end);
}

/** Per round-trip index, the median over transfers (rounds, repetitions) that reached it. */
export function medianPerRoundTrip(transfers: readonly (readonly number[])[]): number[] {
  const longest = Math.max(0, ...transfers.map((t) => t.length));
  const out: number[] = [];
  for (let i = 0; i < longest; i++) {
    out.push(median(transfers.filter((t) => i < t.length).map((t) => t[i]!)));
  }
  return out;
}
