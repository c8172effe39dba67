/**
 * When the link delivered data to the client, per client port: the other half of head-of-line
 * analysis. A stream that receives nothing while the link keeps delivering packets of its
 * connection is waiting behind a hole (head-of-line blocked); one whose connection receives
 * nothing at all is stalled by the sender (congestion window, retransmission timeout).
 *
 * Kept on the link's hot path, so compact: parallel typed arrays, grown by doubling up to a cap,
 * IPv4 TCP/UDP only, packets of more than DATA_BYTES only (ACK-only and control packets carry no
 * stream data).
 */
const DATA_BYTES = 200;
const INITIAL = 4096;

export class DeliveryLog {
  private times = new Float64Array(INITIAL);
  private ports = new Uint16Array(INITIAL);
  private n = 0;
  /** Deliveries not kept because the log was full. */
  omitted = 0;

  constructor(
    private readonly maxEntries = 4_000_000,
    /** Added to recorded times (the caller's clock to monoMs()). */
    private readonly clockOffsetMs = 0,
  ) {}

  /**
   * A packet handed to the client side at tMs. `length` is the packet's whole length when `packet`
   * holds only its first bytes (the kernel backend's capture).
   */
  record(packet: Uint8Array, tMs: number, length = packet.length): void {
    if (length <= DATA_BYTES || packet[0]! >> 4 !== 4) return;
    const proto = packet[9];
    if (proto !== 6 && proto !== 17) return;
    const ihl = (packet[0]! & 0x0f) * 4;
    if (packet.length < ihl + 4) return;
    if (this.n === this.times.length && !this.grow()) {
      this.omitted++;
      return;
    }
    this.times[this.n] = tMs + this.clockOffsetMs;
    this.ports[this.n] = (packet[ihl + 2]! << 8) | packet[ihl + 3]!; // destination port: the client's
    this.n++;
  }

  /** Delivery times (monoMs) at or after sinceMs, by client port. */
  since(sinceMs: number): Record<number, number[]> {
    const out: Record<number, number[]> = {};
    // Times are appended in delivery order: binary search for the first one at or after sinceMs.
    let lo = 0;
    let hi = this.n;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.times[mid]! < sinceMs) lo = mid + 1;
      else hi = mid;
    }
    for (let i = lo; i < this.n; i++) (out[this.ports[i]!] ??= []).push(this.times[i]!);
    return out;
  }

  private grow(): boolean {
    if (this.times.length >= this.maxEntries) return false;
    const size = Math.min(this.maxEntries, this.times.length * 2);
    const times = new Float64Array(size);
    times.set(this.times);
    const ports = new Uint16Array(size);
    ports.set(this.ports);
    this.times = times;
    this.ports = ports;
    return true;
  }
}
