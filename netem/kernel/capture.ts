/**
 * The kernel backend's packet log: AF_PACKET sockets on each direction's two views (drop-log.ts),
 * read from the runner's event loop every few milliseconds. Packets wait in the sockets' buffers
 * with the kernel's receive timestamp, so a late read costs no accuracy; a socket whose buffer
 * overflowed makes the log incomplete, which lostPackets() reports.
 *
 * Only each packet's first bytes are copied out (the key, the headers); its length comes from the
 * kernel.
 */
import type { DropEvent } from '../types.ts';
import { DeliveryLog } from '../userspace/model/delivery-log.ts';
import {
  ETHERTYPE_IPV4,
  PACKET_OUTGOING,
  SOCKADDR_LL_SIZE,
  closeFd,
  lastPacketTimeNs,
  packetSocketDrops,
  packetSocketInNamespace,
  realtimeMinusMonotonicNs,
  recvPacketHead,
} from '../userspace/libc.ts';
import { DirectionMatcher, KEY_BYTES, parsePacket, type SeenPacket } from './drop-log.ts';

export interface DirectionTaps {
  path: string;
  dir: 'up' | 'down';
  /** The device the sender's egress is mirrored to, before its qdiscs (sender namespace). */
  enter: { ns: string; device: string };
  /** The receiver's end of the path (receiver namespace): what it receives arrived. */
  arrive: { ns: string; device: string };
}

interface Tap {
  fd: number;
  role: 'enter' | 'arrive';
  taps: DirectionTaps;
  matcher: DirectionMatcher;
}

/** Packets read from one socket per drain at most, so a flood cannot hold the event loop. */
const MAX_READS_PER_DRAIN = 50_000;

export class PacketLog {
  private readonly taps: Tap[] = [];
  private readonly matchers = new Map<string, DirectionMatcher>();
  private readonly events: DropEvent[] = [];
  readonly deliveries = new DeliveryLog();
  private lost = 0;
  /** Why the log stopped being complete (a socket failed), if it did. */
  private failure: string | undefined;
  private offsetNs = realtimeMinusMonotonicNs();
  private timer: NodeJS.Timeout | undefined;
  private readonly buf = new Uint8Array(KEY_BYTES);
  private readonly from = Buffer.alloc(SOCKADDR_LL_SIZE);
  private readonly fromLen = Buffer.alloc(4);
  private readonly ts = Buffer.alloc(16);

  /** Opens every socket (throws, with none left open, when one cannot be). */
  constructor(directions: readonly DirectionTaps[]) {
    try {
      for (const d of directions) {
        const matcher = new DirectionMatcher();
        this.matchers.set(`${d.path}/${d.dir}`, matcher);
        this.taps.push({ fd: packetSocketInNamespace(d.enter.ns, d.enter.device), role: 'enter', taps: d, matcher });
        this.taps.push({ fd: packetSocketInNamespace(d.arrive.ns, d.arrive.device), role: 'arrive', taps: d, matcher });
      }
    } catch (e) {
      this.close();
      throw e;
    }
    // Entries before arrivals: an arrival read first would wait as "early" until its entry comes.
    this.taps.sort((a, b) => (a.role === b.role ? 0 : a.role === 'enter' ? -1 : 1));
  }

  /** Reads the sockets every intervalMs (the timer does not keep the process alive). */
  start(intervalMs = 20): void {
    this.timer = setInterval(() => this.drain(), intervalMs);
    this.timer.unref();
  }

  /** Reads everything waiting in the sockets. Never throws: a socket that fails makes the log incomplete. */
  drain(): void {
    if (this.failure !== undefined) return;
    try {
      this.read();
    } catch (e) {
      this.failure = (e as Error).message;
    }
  }

  private read(): void {
    this.offsetNs = realtimeMinusMonotonicNs();
    for (const tap of this.taps) {
      for (let i = 0; i < MAX_READS_PER_DRAIN; i++) {
        const length = recvPacketHead(tap.fd, this.buf, this.from, this.fromLen);
        if (length === 0) break;
        if (this.from.readUInt16BE(2) !== ETHERTYPE_IPV4) continue;
        // The receiver's socket also sees what it sends (the other direction, after its qdiscs).
        if (tap.role === 'arrive' && this.from[10] === PACKET_OUTGOING) continue;
        const t = Number(lastPacketTimeNs(tap.fd, this.ts) - this.offsetNs) / 1e6;
        const packet = parsePacket(this.buf, Math.min(length, this.buf.length), t);
        if (!packet) continue;
        packet.len = length;
        if (tap.role === 'enter') {
          tap.matcher.enter(packet);
        } else {
          tap.matcher.arrive(packet);
          if (tap.taps.dir === 'down') this.deliveries.record(this.buf, t, length);
        }
      }
      this.lost += packetSocketDrops(tap.fd);
    }
  }

  /**
   * Settles one direction: what entered and has not arrived, beyond the `inFlight` newest packets
   * (those the qdiscs still hold) and those younger than minAgeMs, was dropped.
   */
  settle(path: string, dir: 'up' | 'down', inFlight: number, reason: DropEvent['reason'], nowMs: number, minAgeMs: number): void {
    const matcher = this.matchers.get(`${path}/${dir}`);
    if (!matcher) return;
    const young = matcher.youngerThan(nowMs - minAgeMs);
    for (const p of matcher.settle(Math.max(inFlight, young), nowMs)) this.events.push(dropEvent(p, path, dir, reason));
  }

  /** Every drop settled so far, in the order settled (by direction, oldest first within each). */
  drops(): DropEvent[] {
    return this.events;
  }

  /** Packets the capture could not keep (socket buffers full): the log is incomplete when > 0. */
  lostPackets(): number {
    return this.lost;
  }

  /** The error that stopped the capture, if one did: the log is incomplete from then on. */
  failed(): string | undefined {
    return this.failure;
  }

  /** Entered, arrived and not yet settled, per direction: for checks against the qdiscs' counters. */
  tally(): Record<string, { entered: number; arrived: number; pending: number; dropped: number }> {
    const out: Record<string, { entered: number; arrived: number; pending: number; dropped: number }> = {};
    for (const [key, m] of this.matchers) {
      const [path, dir] = key.split('/');
      out[key] = { entered: m.entered, arrived: m.arrived, pending: m.pending, dropped: this.events.filter((e) => e.path === path && e.dir === dir).length };
    }
    return out;
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    for (const tap of this.taps.splice(0)) closeFd(tap.fd);
  }
}

function dropEvent(p: SeenPacket, path: string, dir: 'up' | 'down', reason: DropEvent['reason']): DropEvent {
  return {
    t: p.t,
    path,
    dir,
    proto: p.proto,
    ...(p.srcPort !== undefined && { srcPort: p.srcPort }),
    ...(p.dstPort !== undefined && { dstPort: p.dstPort }),
    len: p.len,
    ...(p.tcpSeq !== undefined && { tcpSeq: p.tcpSeq }),
    reason,
  };
}
