/**
 * bench's QUIC pacer: decides when the send loop may ask quiche for its next packet. Pure: the
 * connection owns the clock, the timer and quiche.
 *
 * Why not quiche's own pacer: quiche 0.18 records a packet's sent time as its pacer's release time
 * and measures RTT samples from it, and that time stands still for small packets (stats.ts,
 * SendDating): its client's RTT estimate read 40 to 50% above the path's. It also paces at
 * 1.25 x cwnd/srtt in slow start, where the window doubles each round trip, so a paced flow
 * ramps up slower than an unpaced one. Gating *when quiche builds* instead of holding packets it
 * built keeps every packet dated at the moment it leaves, with fresh ACK frames.
 *
 * The rule:
 * - rate = gain x cwnd / srtt, with Linux TCP's gains (net.ipv4.tcp_pacing_ss_ratio = 200 in slow
 *   start, tcp_pacing_ca_ratio = 120 after), so `pacing: on` paces HTTP/2 and HTTP/3 alike;
 * - a byte budget refilled at that rate, capped at a burst of max(10 packets, 2 ms at the rate),
 *   and a wait of at least 1 ms once it is spent (quic-go's pacer: JavaScript timers, like Go's,
 *   are not finer than about a millisecond, so smaller bursts would fall behind the rate).
 */

export interface PacingGains {
  slowStart: number;
  congestionAvoidance: number;
}

/** Linux TCP's pacing ratios (sysctl defaults, percent / 100). */
export const LINUX_PACING_GAINS: PacingGains = { slowStart: 2, congestionAvoidance: 1.2 };

/** The smallest burst, in packets (quic-go's maxBurstSizePackets). */
export const BURST_PACKETS = 10;
/** The burst in time at the pacing rate, when that holds more than BURST_PACKETS. */
export const BURST_MS = 2;
/** A sender whose budget is spent waits at least this long (timer granularity). */
export const MIN_WAIT_MS = 1;

export class Pacer {
  /** Bytes per ms; Infinity until the first update. */
  private rate = Infinity;
  private budgetAtLastSend: number;
  private lastSendAt = -Infinity;
  private slowStart = true;

  constructor(
    /** The largest packet the connection sends (its max UDP payload). */
    private readonly packetBytes: number,
    private readonly gains: PacingGains = LINUX_PACING_GAINS,
  ) {
    this.budgetAtLastSend = BURST_PACKETS * packetBytes;
  }

  /** Sets the rate from the sender's window and smoothed RTT. */
  update(cwndBytes: number, srttMs: number, inSlowStart: boolean): void {
    this.slowStart = inSlowStart;
    if (!(cwndBytes > 0) || !(srttMs > 0)) {
      this.rate = Infinity;
      return;
    }
    const gain = inSlowStart ? this.gains.slowStart : this.gains.congestionAvoidance;
    this.rate = (gain * cwndBytes) / srttMs;
  }

  /** Bytes per ms the pacer allows now (Infinity before the first update). */
  get bytesPerMs(): number {
    return this.rate;
  }

  get inSlowStart(): boolean {
    return this.slowStart;
  }

  /** The largest burst: max(BURST_PACKETS packets, BURST_MS at the rate). */
  get maxBurst(): number {
    return Math.max(BURST_PACKETS * this.packetBytes, BURST_MS * this.rate);
  }

  /** Bytes that may leave at `now` without waiting. */
  budget(now: number): number {
    if (this.rate === Infinity) return Infinity;
    const refilled = this.budgetAtLastSend + Math.max(0, now - this.lastSendAt) * this.rate;
    return Math.min(this.maxBurst, refilled);
  }

  /** When the next full-size packet may be built: `now` while the budget holds one. */
  nextSendAt(now: number): number {
    if (this.budget(now) >= this.packetBytes) return now;
    const refill = (this.packetBytes - this.budgetAtLastSend) / this.rate;
    return Math.max(now, this.lastSendAt + Math.max(MIN_WAIT_MS, refill));
  }

  /** A packet of `bytes` left at `now`. */
  onSent(bytes: number, now: number): void {
    this.budgetAtLastSend = Math.max(0, this.budget(now) - bytes);
    this.lastSendAt = now;
  }
}
