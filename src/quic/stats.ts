/** Connection statistics, readable at any time (quiche's stats() plus the active path's). */
import type { NativeConnection } from './binding.ts';
import type { ReleaseStats } from './release-queue.ts';

export interface QuicStats {
  /** Smoothed RTT of the active path, ms. */
  rttMs?: number;
  cwndBytes?: number;
  /** Delivery rate estimate of the active path, bytes/s. */
  deliveryRateBps?: number;
  pmtu?: number;
  sentPackets: number;
  recvPackets: number;
  lostPackets: number;
  retransmittedPackets: number;
  sentBytes: number;
  recvBytes: number;
  lostBytes: number;
  streamRetransmittedBytes: number;
  paths: number;
}

/**
 * How quiche dated this endpoint's packets. quiche 0.18 records a packet's sent time as its pacer's
 * next release time (SendInfo.at), and RTT samples are measured from it. That time only moves on
 * when a burst of the pacer's quantum fills, a packet's size differs from the last one's, or the
 * connection was idle for a quantum's worth of time; a sender of small packets that never fills a
 * quantum (an HTTP/3 client sending ACKs and window updates) gets packets dated tens of
 * milliseconds before they were built, and an RTT estimate that much too high. With quiche's
 * pacing off the clock still runs, moving only after an idle gap (pacer.ts works with that).
 * Measured here as the release time against the clock when quiche handed the packet over.
 */
export interface SendDating {
  /** Packets whose release time was known. */
  packets: number;
  /** Of them, dated more than BACKDATED_MS before they were built. */
  backdated: number;
  /** Mean and maximum of how far before, over the backdated packets, ms. */
  backdatedMeanMs: number;
  backdatedMaxMs: number;
}

/** A release time this far before the build counts as backdated (timer granularity). */
export const BACKDATED_MS = 1;

export class SendDatingCounter {
  private packets = 0;
  private backdated = 0;
  private sumMs = 0;
  private maxMs = 0;

  /** `earlyMs`: build time minus quiche's release time for the packet. */
  record(earlyMs: number): void {
    this.packets++;
    if (earlyMs <= BACKDATED_MS) return;
    this.backdated++;
    this.sumMs += earlyMs;
    if (earlyMs > this.maxMs) this.maxMs = earlyMs;
  }

  get value(): SendDating {
    return { packets: this.packets, backdated: this.backdated, backdatedMeanMs: this.backdated ? this.sumMs / this.backdated : 0, backdatedMaxMs: this.maxMs };
  }
}

/**
 * One connection as its data sender (bench's HTTP/3 server) saw it when it closed: the sender's
 * smoothed RTT, window and losses, and how its send loop met quiche's pacing release times.
 */
export interface QuicSenderStats {
  srttMs?: number;
  cwndBytes?: number;
  sentPackets: number;
  sentBytes: number;
  lostPackets: number;
  retransmittedPackets: number;
  /** Packets that waited for their release time, and how late they left (release-queue.ts). */
  pacing: ReleaseStats;
  /** What the send loop did for this connection: the cost side of pacing (connection.ts). */
  sendLoop?: SendLoopCounters;
  /** How quiche dated the packets it sent (its RTT samples start there). */
  dating?: SendDating;
}

/**
 * One connection's send loop: turns run (each a wake-up of the event loop for this connection),
 * wake-ups by the pacing timer, datagrams received, packets built, UDP sends it made (system calls;
 * with GSO one carries several packets), and why each loop ended: quiche had nothing to send
 * (window, flow control or idle), the burst cap, or pacing.
 */
export interface SendLoopCounters {
  turns: number;
  timerWakeups: number;
  received: number;
  packets: number;
  udpSends: number;
  idleEnds: number;
  burstEnds: number;
  pacingLimitedEnds: number;
  sendErrors: number;
}

export function readStats(conn: NativeConnection): QuicStats {
  const s = conn.stats();
  let active;
  try {
    active = conn.pathStats().find((p) => p.active) ?? conn.pathStats()[0];
  } catch {
    active = undefined;
  }
  return {
    // pathStats().rtt is in milliseconds in the binding (Duration converted by the binding).
    rttMs: active ? active.rtt : undefined,
    cwndBytes: active?.cwnd,
    deliveryRateBps: active?.deliveryRate,
    pmtu: active?.pmtu,
    sentPackets: s.sent,
    recvPackets: s.recv,
    lostPackets: s.lost,
    retransmittedPackets: s.retrans,
    sentBytes: s.sentBytes,
    recvBytes: s.recvBytes,
    lostBytes: s.lostBytes,
    streamRetransmittedBytes: s.streamRetransBytes,
    paths: s.pathsCount,
  };
}
