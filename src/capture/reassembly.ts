/**
 * A receiver's reassembly of one byte stream (a QUIC stream, a TCP connection's bytes): the
 * contiguous head (what the application can read) and the bytes held above it, delivery by
 * delivery. While bytes are held the stream is head-of-line blocked, exactly: it has data it cannot
 * hand on because a hole waits for a retransmission. Pure.
 */

/** One stretch of time in which a stream held bytes above a hole. */
export interface BlockedInterval {
  fromUs: number;
  /** When the hole was filled; undefined when it never was (within the capture). */
  toUs?: number;
  /** The stream's head when it began: the first byte of the hole. */
  holeAt: number;
  /** The most bytes held above the head meanwhile. */
  peakHeldBytes: number;
}

export class Reassembly {
  /** Bytes [0, head) arrived, in order. */
  head = 0;
  /** Disjoint, sorted [start, end) ranges above the head. */
  private above: Array<[number, number]> = [];

  get heldBytes(): number {
    return this.above.reduce((sum, [s, e]) => sum + e - s, 0);
  }

  add(offset: number, length: number): void {
    const start = Math.max(offset, this.head);
    const end = offset + length;
    if (end <= start) return;
    const ranges = [...this.above, [start, end] as [number, number]].sort((x, y) => x[0] - y[0]);
    this.above = [];
    for (const [s, e] of ranges) {
      const last = this.above[this.above.length - 1];
      if (last && s <= last[1]) last[1] = Math.max(last[1], e);
      else this.above.push([s, e]);
    }
    while (this.above.length > 0 && this.above[0]![0] <= this.head) this.head = Math.max(this.head, this.above.shift()![1]);
  }
}

/** A batch of ranges delivered at once (the frames of one packet). */
export interface Delivery {
  timeUs: number;
  ranges: ReadonlyArray<{ offset: number; length: number }>;
}

/** The blocked intervals of a stream, from its deliveries in time order; and where its head ended. */
export function blockedIntervals(deliveries: Iterable<Delivery>): { intervals: BlockedInterval[]; head: number } {
  const stream = new Reassembly();
  const intervals: BlockedInterval[] = [];
  let open: BlockedInterval | undefined;
  for (const d of deliveries) {
    for (const r of d.ranges) stream.add(r.offset, r.length);
    const held = stream.heldBytes;
    if (held > 0 && !open) {
      // The hole starts where the head stands after the batch (a batch can advance it and leave a hole higher up).
      open = { fromUs: d.timeUs, holeAt: stream.head, peakHeldBytes: held };
      intervals.push(open);
    } else if (open) {
      open.peakHeldBytes = Math.max(open.peakHeldBytes, held);
      if (held === 0) {
        open.toUs = d.timeUs;
        open = undefined;
      }
    }
  }
  return { intervals, head: stream.head };
}
