/**
 * The bottleneck of a direction: a drop-tail FIFO served at a constant rate or by a trace of
 * delivery opportunities (Mahimahi's mm-link). Pure arithmetic, no timers: a packet's departure time
 * is known when it arrives, since the FIFO serves packets in arrival order.
 */

export interface Admission {
  /** When the last bit leaves the bottleneck (ms). */
  departMs: number;
  /** Time spent waiting behind other packets (ms), excluding its own serialization. */
  queueDelayMs: number;
}

export interface QueueLimits {
  packets?: number;
  bytes?: number;
}

/** netem's default queue limit (`limit 1000`), used when a rate is set without a limit. */
export const DEFAULT_QUEUE_LIMIT_PACKETS = 1000;

export interface Bottleneck {
  /** null = dropped at the tail (queue full). */
  admit(nowMs: number, lengthBytes: number): Admission | null;
  /** Packets and bytes inside (queued or being served) at nowMs. */
  backlog(nowMs: number): { packets: number; bytes: number };
}

/** Tracks which admitted packets are still inside, for the drop-tail limits. */
class Occupancy {
  private departs: number[] = [];
  private lengths: number[] = [];
  private head = 0;
  packets = 0;
  bytes = 0;

  constructor(private readonly limits: QueueLimits) {}

  expire(nowMs: number): void {
    while (this.head < this.departs.length && this.departs[this.head]! <= nowMs) {
      this.packets--;
      this.bytes -= this.lengths[this.head]!;
      this.head++;
    }
    if (this.head > 4096 && this.head * 2 > this.departs.length) {
      this.departs = this.departs.slice(this.head);
      this.lengths = this.lengths.slice(this.head);
      this.head = 0;
    }
  }

  fits(lengthBytes: number): boolean {
    const { packets, bytes } = this.limits;
    if (packets !== undefined && this.packets + 1 > packets) return false;
    if (bytes !== undefined && this.bytes + lengthBytes > bytes) return false;
    return true;
  }

  add(departMs: number, lengthBytes: number): void {
    this.departs.push(departMs);
    this.lengths.push(lengthBytes);
    this.packets++;
    this.bytes += lengthBytes;
  }
}

function effectiveLimits(limits: QueueLimits): QueueLimits {
  return limits.packets === undefined && limits.bytes === undefined ? { packets: DEFAULT_QUEUE_LIMIT_PACKETS } : limits;
}

/** Serializes packets at rateBps (IP bytes; a TUN carries no link-layer header). */
export class RateBottleneck implements Bottleneck {
  private busyUntilMs = -Infinity;
  private readonly occupancy: Occupancy;

  constructor(
    private readonly rateBps: number,
    limits: QueueLimits,
  ) {
    if (!(rateBps > 0)) throw new RangeError(`rate must be > 0 bit/s, got ${rateBps}`);
    this.occupancy = new Occupancy(effectiveLimits(limits));
  }

  admit(nowMs: number, lengthBytes: number): Admission | null {
    this.occupancy.expire(nowMs);
    if (!this.occupancy.fits(lengthBytes)) return null;
    const startMs = Math.max(nowMs, this.busyUntilMs);
    const departMs = startMs + (lengthBytes * 8 * 1000) / this.rateBps;
    this.busyUntilMs = departMs;
    this.occupancy.add(departMs, lengthBytes);
    return { departMs, queueDelayMs: startMs - nowMs };
  }

  backlog(nowMs: number): { packets: number; bytes: number } {
    this.occupancy.expire(nowMs);
    return { packets: this.occupancy.packets, bytes: this.occupancy.bytes };
  }
}

/** Bytes one delivery opportunity carries (Mahimahi: one MTU-sized packet). */
export const TRACE_OPPORTUNITY_BYTES = 1500;

/**
 * Mahimahi mm-link semantics: each trace line is a delivery opportunity at that many ms after the
 * link started; it can carry 1500 bytes of queued packets (a packet may span opportunities); an
 * opportunity with nothing queued is wasted. The trace repeats with a period of its last timestamp.
 */
export class TraceBottleneck implements Bottleneck {
  private readonly occupancy: Occupancy;
  /** Absolute index of the current opportunity (loop * length + i) and bytes left in it. */
  private cursor = -1;
  private bytesLeft = 0;
  private readonly periodMs: number;

  constructor(
    private readonly opportunitiesMs: readonly number[],
    private readonly startMs: number,
    limits: QueueLimits,
  ) {
    if (opportunitiesMs.length === 0) throw new RangeError('a rate trace needs at least one delivery opportunity');
    this.periodMs = opportunitiesMs[opportunitiesMs.length - 1]!;
    if (!(this.periodMs > 0)) throw new RangeError('the last timestamp of a rate trace must be > 0 ms (it is the period)');
    this.occupancy = new Occupancy(effectiveLimits(limits));
  }

  private timeOf(index: number): number {
    const n = this.opportunitiesMs.length;
    const loop = Math.floor(index / n);
    return this.startMs + loop * this.periodMs + this.opportunitiesMs[index - loop * n]!;
  }

  /** Absolute index of the first opportunity at or after tMs. */
  private firstAtOrAfter(tMs: number): number {
    const n = this.opportunitiesMs.length;
    const rel = tMs - this.startMs;
    const loop = Math.max(0, Math.floor(rel / this.periodMs));
    const inLoop = rel - loop * this.periodMs;
    let lo = 0;
    let hi = n;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.opportunitiesMs[mid]! < inLoop) lo = mid + 1;
      else hi = mid;
    }
    return loop * n + lo;
  }

  admit(nowMs: number, lengthBytes: number): Admission | null {
    this.occupancy.expire(nowMs);
    if (!this.occupancy.fits(lengthBytes)) return null;
    let need = lengthBytes;
    let serviceStartMs: number | undefined;
    // The opportunity the previous packet ended in still has room and has not passed: continue in it.
    if (this.cursor >= 0 && this.bytesLeft > 0 && this.timeOf(this.cursor) >= nowMs) {
      const used = Math.min(need, this.bytesLeft);
      need -= used;
      this.bytesLeft -= used;
      serviceStartMs = this.timeOf(this.cursor);
    }
    if (need > 0) {
      let idx = Math.max(this.cursor + 1, this.firstAtOrAfter(nowMs));
      serviceStartMs ??= this.timeOf(idx);
      for (;;) {
        const used = Math.min(need, TRACE_OPPORTUNITY_BYTES);
        need -= used;
        this.cursor = idx;
        this.bytesLeft = TRACE_OPPORTUNITY_BYTES - used;
        if (need <= 0) break;
        idx++;
      }
    }
    const departMs = this.timeOf(this.cursor);
    this.occupancy.add(departMs, lengthBytes);
    // Waiting for a delivery opportunity counts as queueing, as in Mahimahi.
    return { departMs, queueDelayMs: Math.max(0, (serviceStartMs ?? departMs) - nowMs) };
  }

  backlog(nowMs: number): { packets: number; bytes: number } {
    this.occupancy.expire(nowMs);
    return { packets: this.occupancy.packets, bytes: this.occupancy.bytes };
  }
}

/** Parses a Mahimahi trace: one integer (ms) per line, non-decreasing; blank lines and # comments ignored. */
export function parseRateTrace(text: string, source = 'trace'): number[] {
  const out: number[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '' || line.startsWith('#')) continue;
    if (!/^\d+$/.test(line)) throw new RangeError(`${source}:${i + 1}: expected a whole number of milliseconds, found ${JSON.stringify(line)}`);
    const v = Number(line);
    if (out.length > 0 && v < out[out.length - 1]!) {
      throw new RangeError(`${source}:${i + 1}: timestamps must not decrease (${v} after ${out[out.length - 1]})`);
    }
    out.push(v);
  }
  if (out.length === 0) throw new RangeError(`${source}: no delivery opportunities`);
  if (out[out.length - 1]! <= 0) throw new RangeError(`${source}: the last timestamp must be > 0 ms (it is the period)`);
  return out;
}
