/**
 * Packets that quiche has built but wants on the wire later (its pacer's release time), in the
 * order they were built. Pure: the connection owns the clock, the timer and the socket.
 *
 * Why a queue and not "hold one packet and stop": quiche counts a packet as in flight when it is
 * built, and marks the connection application-limited whenever the last packet built left the
 * congestion window unfilled; cubic then does not grow the window on the ACKs that follow. A send
 * loop that stops building at the first paced packet therefore looks application-limited all
 * through slow start, and the window crawls. quiche is meant to be driven as its own apps do
 * with SO_TXTIME: build until quiche has nothing more (window full), release each at its time.
 *
 * Order is kept (never an ACK-only packet ahead of data built before it): a peer acknowledging a
 * later packet number first would make our loss detection declare the earlier ones lost.
 */
export interface QueuedPacket<P> {
  packet: P;
  /** Release time (monotonic ms). */
  at: number;
}

/** How well queued packets met their release time. */
export interface ReleaseStats {
  /** Packets that waited in the queue (the rest went out as soon as they were built). */
  queued: number;
  /** Sum and maximum of (actual release - release time), ms; negative when released early. */
  lateSumMs: number;
  lateMaxMs: number;
  /** Packets released more than 1 ms after their time. */
  lateOver1Ms: number;
  /** Most packets waiting at once. */
  maxDepth: number;
}

export class ReleaseQueue<P> {
  private items: Array<QueuedPacket<P>> = [];
  private head = 0;
  readonly stats: ReleaseStats = { queued: 0, lateSumMs: 0, lateMaxMs: 0, lateOver1Ms: 0, maxDepth: 0 };

  constructor(
    /** Packets due within this many ms count as due (timers cannot be finer). */
    readonly horizonMs: number,
  ) {}

  get size(): number {
    return this.items.length - this.head;
  }

  /** Release time of the oldest waiting packet, or undefined when empty. */
  get nextAt(): number | undefined {
    return this.size > 0 ? this.items[this.head]!.at : undefined;
  }

  /** Release time of the newest waiting packet, or undefined when empty. */
  get lastAt(): number | undefined {
    return this.size > 0 ? this.items[this.items.length - 1]!.at : undefined;
  }

  /** Whether a packet built now with this release time may go out at once. */
  sendsNow(at: number | undefined, now: number): boolean {
    return this.size === 0 && (at === undefined || at - now <= this.horizonMs);
  }

  push(packet: P, at: number): void {
    this.items.push({ packet, at });
    this.stats.queued++;
    if (this.size > this.stats.maxDepth) this.stats.maxDepth = this.size;
  }

  /** Takes every packet due by now (in order), recording how late each one is. */
  takeDue(now: number, out: (packet: P) => void): void {
    while (this.head < this.items.length) {
      const item = this.items[this.head]!;
      if (item.at - now > this.horizonMs) break;
      this.head++;
      this.record(now - item.at);
      out(item.packet);
    }
    this.compact();
  }

  /** Takes every packet regardless of its time (closing: nothing may stay behind). */
  takeAll(out: (packet: P) => void): void {
    while (this.head < this.items.length) out(this.items[this.head++]!.packet);
    this.compact();
  }

  clear(): void {
    this.items = [];
    this.head = 0;
  }

  private record(lateMs: number): void {
    recordRelease(this.stats, lateMs);
  }

  private compact(): void {
    if (this.head === this.items.length) {
      this.items.length = 0;
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
  }
}

/**
 * Records one packet's release `lateMs` after its time. `held`: a packet that waited before it was
 * built (bench's pacer, connection.ts), counted as queued here since it never sat in a queue.
 */
export function recordRelease(stats: ReleaseStats, lateMs: number, held = false): void {
  if (held) {
    stats.queued++;
    if (stats.maxDepth < 1) stats.maxDepth = 1;
  }
  stats.lateSumMs += lateMs;
  if (lateMs > stats.lateMaxMs) stats.lateMaxMs = lateMs;
  if (lateMs > 1) stats.lateOver1Ms++;
}
