/**
 * The kernel backend's drop log, from two views of each direction of a path: the packets that
 * entered the sender's netem qdisc (mirrored before the qdisc) and the packets that reached the
 * receiver (after netem and the bottleneck). A packet that entered and never arrived was dropped by
 * the qdiscs: netem's loss model (random, correlated, Gilbert-Elliott, blackhole) or the bottleneck
 * queue overflowing. Pure: packets in, drop events out; the captures are in capture.ts.
 *
 * Matching is by a key over the packet's first bytes (IP header with its ID, transport header,
 * the start of the payload: QUIC's encrypted bytes or TCP's sequence number make it unique), as a
 * multiset, so netem's duplicates and identical TCP duplicate ACKs match one for one. A packet
 * is settled as dropped only when it cannot still be in the qdiscs: settle(inFlight) is given the
 * number of packets the qdiscs hold (their backlog), and keeps that many of the newest unmatched
 * packets pending. With jitter netem may reorder, so "newest" is then approximate.
 */
import type { DropEvent } from '../types.ts';

/** What a capture saw of one packet. */
export interface SeenPacket {
  /** monoMs() when the packet was seen (the kernel's timestamp, converted). */
  t: number;
  key: number;
  proto: DropEvent['proto'];
  srcPort?: number;
  dstPort?: number;
  /** IP packet length in bytes (the whole packet, not what was captured). */
  len: number;
  tcpSeq?: number;
}

/** Bytes of a packet that go into its key. */
export const KEY_BYTES = 96;

/**
 * The packet's key and header fields, from its first bytes (an IPv4 packet as AF_PACKET SOCK_DGRAM
 * gives it); undefined for anything that is not IPv4.
 */
export function parsePacket(bytes: Uint8Array, captured: number, t: number): SeenPacket | undefined {
  if (captured < 20 || bytes[0]! >> 4 !== 4) return undefined;
  const ihl = (bytes[0]! & 0x0f) * 4;
  const len = (bytes[2]! << 8) | bytes[3]!;
  const protocol = bytes[9]!;
  const upTo = Math.min(captured, KEY_BYTES);
  // Two FNV-1a hashes (different offsets) over the same bytes, folded into 53 bits.
  let h1 = 0x811c9dc5;
  let h2 = 0x050c5d1f;
  for (let i = 0; i < upTo; i++) {
    h1 = Math.imul(h1 ^ bytes[i]!, 0x01000193);
    h2 = Math.imul(h2 ^ bytes[i]!, 0x01000193);
  }
  const key = (h1 >>> 0) * 0x200000 + ((h2 ^ len) & 0x1fffff);
  const p: SeenPacket = { t, key, proto: protocol === 6 ? 'tcp' : protocol === 17 ? 'udp' : 'other', len };
  if ((protocol === 6 || protocol === 17) && captured >= ihl + 4) {
    p.srcPort = (bytes[ihl]! << 8) | bytes[ihl + 1]!;
    p.dstPort = (bytes[ihl + 2]! << 8) | bytes[ihl + 3]!;
    if (protocol === 6 && captured >= ihl + 8) {
      p.tcpSeq = ((bytes[ihl + 4]! << 24) | (bytes[ihl + 5]! << 16) | (bytes[ihl + 6]! << 8) | bytes[ihl + 7]!) >>> 0;
    }
  }
  return p;
}

interface Entered {
  packet: SeenPacket;
  matched: boolean;
}

/** An arrival with no entry yet is kept this long (its entry may still be unread); longer = not ours. */
const EARLY_ARRIVAL_KEEP_MS = 10_000;

/** Entered vs arrived for one direction of one path. */
export class DirectionMatcher {
  private queue: Array<Entered | undefined> = [];
  private head = 0;
  private readonly byKey = new Map<number, Entered[]>();
  private readonly early = new Map<number, { count: number; t: number }>();
  private unmatched = 0;
  /** Packets seen entering and arriving, for checks against the qdiscs' counters. */
  entered = 0;
  arrived = 0;

  enter(p: SeenPacket): void {
    this.entered++;
    const e = this.early.get(p.key);
    if (e) {
      if (--e.count === 0) this.early.delete(p.key);
      return;
    }
    const entry: Entered = { packet: p, matched: false };
    this.queue.push(entry);
    const list = this.byKey.get(p.key);
    if (list) list.push(entry);
    else this.byKey.set(p.key, [entry]);
    this.unmatched++;
  }

  arrive(p: SeenPacket): void {
    this.arrived++;
    const list = this.byKey.get(p.key);
    const entry = list?.shift();
    if (list && list.length === 0) this.byKey.delete(p.key);
    if (entry) {
      entry.matched = true;
      this.unmatched--;
      return;
    }
    const e = this.early.get(p.key);
    if (e) e.count++;
    else this.early.set(p.key, { count: 1, t: p.t });
  }

  /** Packets that entered and have not arrived (dropped or still in the qdiscs). */
  get pending(): number {
    return this.unmatched;
  }

  /** Unmatched packets that entered after tMs (the newest ones, counted from the end). */
  youngerThan(tMs: number): number {
    let n = 0;
    for (let i = this.queue.length - 1; i >= this.head; i--) {
      const entry = this.queue[i]!;
      if (entry.packet.t <= tMs) break;
      if (!entry.matched) n++;
    }
    return n;
  }

  /**
   * Every unmatched packet except the newest `inFlight` is dropped: removed and returned, oldest first.
   * `nowMs` ages out arrivals that never had an entry.
   */
  settle(inFlight: number, nowMs: number): SeenPacket[] {
    const dropped: SeenPacket[] = [];
    let toDrop = this.unmatched - Math.max(0, inFlight);
    while (this.head < this.queue.length) {
      const entry = this.queue[this.head]!;
      if (entry.matched) {
        this.queue[this.head++] = undefined;
        continue;
      }
      if (toDrop <= 0) break;
      // The oldest unmatched entry of its key is the first of its list.
      const list = this.byKey.get(entry.packet.key)!;
      list.shift();
      if (list.length === 0) this.byKey.delete(entry.packet.key);
      this.unmatched--;
      toDrop--;
      dropped.push(entry.packet);
      this.queue[this.head++] = undefined;
    }
    if (this.head > 4096 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    for (const [key, e] of this.early) if (nowMs - e.t > EARLY_ARRIVAL_KEEP_MS) this.early.delete(key);
    return dropped;
  }
}
