/**
 * bench's QUIC pacer: decides when the send loop may ask quiche for its next packet, so quiche
 * builds each packet when it leaves. Pure: the connection owns the clock, the timer and quiche.
 *
 * Why not quiche's own pacer: quiche 0.18 paces at 1.25 x cwnd/srtt in slow start too, where the
 * window doubles every round trip, so a paced flow ramps up slower than TCP's (Linux paces slow
 * start at 2 x). The binding offers no way to change that.
 *
 * The rate: gain x cwnd / srtt with Linux TCP's gains (net.ipv4.tcp_pacing_ss_ratio = 200 in slow
 * start, tcp_pacing_ca_ratio = 120 after), so `pacing: on` paces HTTP/2 and HTTP/3 by one rule. A
 * byte budget refills at that rate, capped at a burst of max(10 packets, 2 ms at the rate), with a
 * wait of at least 1 ms once spent (quic-go's pacer: JavaScript timers, like Go's, are not finer
 * than about a millisecond, so smaller bursts would fall behind the rate).
 *
 * The send dates: quiche 0.18 dates a packet by its pacer's clock, which with its pacing off moves
 * to "now" only when the connection sent nothing for quiche's quantum interval, 10 packets /
 * (1.25 x cwnd/srtt) (recovery/pacer.rs): every packet sent sooner after that reset is dated at
 * the reset, and its RTT samples read long by the difference. So this pacer sends only within
 * DATED_WITHIN_MS of a reset, or once the interval has passed since the last one (which resets the
 * clock), and makes its bursts large enough to keep the rate: the interval (with a margin) at the
 * pacing rate, about 18 packets in slow start and 11 after. Where quiche's interval is shorter
 * than the timers' millisecond, that constraint vanishes (any send resets); where it is long
 * (windows under about 80 packets), the window is not paced (MAX_SLOT_SHARE_OF_SRTT).
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
/** Packets sent this soon after quiche's pacer clock reset are dated within this (send-dating counter's threshold). */
export const DATED_WITHIN_MS = 1;

/** quiche 0.18's pacer: a quantum of its initial window (10 packets) at 1.25 x cwnd/srtt. */
const QUICHE_QUANTUM_PACKETS = 10;
const QUICHE_PACING_GAIN = 1.25;
/** Waits past quiche's interval this much longer: the RTT read through the binding is whole ms. */
const INTERVAL_MARGIN = 1.2;
/**
 * Windows whose dating slot would be longer than this share of srtt (under about 80 packets) are
 * not paced. Holding them for a slot adds half a slot to every round trip of a window-limited
 * sender (measured at 2% loss on a 100 ms path, where the window falls to a few packets and the
 * slot to several round trips: p99 13 to 20 s against 3 to 7.5 s with quiche's pacer); spreading
 * them by the rate without slots leaves most packets dated early (75% by 17 to 24 ms on average,
 * smoothed RTT up to 151 ms). Sent as the ACKs let them out, they leave in clumps a round trip
 * apart, longer than quiche's interval, so its clock dates them right; and quiche's own pacer
 * leaves its initial window unpaced too.
 */
const MAX_SLOT_SHARE_OF_SRTT = 1 / 8;

export class Pacer {
  /** Bytes per ms; Infinity until the first update. */
  private rate = Infinity;
  /** quiche's quantum interval with the margin, ms (0: no constraint). */
  private slotMs = 0;
  /** quiche's quantum interval itself (its reset rule), ms. */
  private quicheIntervalMs = 0;
  private budgetAtLastSend: number;
  private lastSendAt = -Infinity;
  /** When quiche's pacer clock last moved to "now" (as its rule says, from our sends). */
  private lastResetAt = -Infinity;

  constructor(
    /** The largest packet the connection sends (its max UDP payload). */
    private readonly packetBytes: number,
    private readonly gains: PacingGains = LINUX_PACING_GAINS,
  ) {
    this.budgetAtLastSend = BURST_PACKETS * packetBytes;
  }

  /** Sets the rate from the sender's window and smoothed RTT (whole ms, as the binding gives it). */
  update(cwndBytes: number, srttMs: number, inSlowStart: boolean): void {
    if (!(cwndBytes > 0) || !(srttMs > 0)) {
      this.rate = Infinity;
      this.slotMs = this.quicheIntervalMs = 0;
      return;
    }
    // Kept for unpaced windows too, so the clock's resets are known when pacing resumes.
    this.quicheIntervalMs = this.quicheInterval(cwndBytes, srttMs);
    // quiche's srtt may be up to 1 ms above the whole ms read: its interval up to that much longer.
    const slot = this.quicheInterval(cwndBytes, srttMs + 1) * INTERVAL_MARGIN;
    if (slot > srttMs * MAX_SLOT_SHARE_OF_SRTT) {
      // A small window: sent as its ACKs allow (unpaced), see MAX_SLOT_SHARE_OF_SRTT.
      this.rate = Infinity;
      this.slotMs = 0;
      return;
    }
    const gain = inSlowStart ? this.gains.slowStart : this.gains.congestionAvoidance;
    this.rate = (gain * cwndBytes) / srttMs;
    this.slotMs = slot > MIN_WAIT_MS ? slot : 0;
  }

  /** quiche's quantum interval, ms: its pacer clock resets after this long without a send. */
  private quicheInterval(cwndBytes: number, srttMs: number): number {
    return (QUICHE_QUANTUM_PACKETS * this.packetBytes) / ((QUICHE_PACING_GAIN * cwndBytes) / srttMs);
  }

  /** Bytes per ms the pacer allows now (Infinity before the first update). */
  get bytesPerMs(): number {
    return this.rate;
  }

  /** The largest burst: max(BURST_PACKETS packets, the rate over BURST_MS or over a dating slot). */
  get maxBurst(): number {
    return Math.max(BURST_PACKETS * this.packetBytes, Math.max(BURST_MS, this.slotMs) * this.rate);
  }

  /** Bytes that may leave at `now` without waiting. */
  budget(now: number): number {
    if (this.rate === Infinity) return Infinity;
    const refilled = this.budgetAtLastSend + Math.max(0, now - this.lastSendAt) * this.rate;
    return Math.min(this.maxBurst, refilled);
  }

  /** When the next full-size packet may be built: `now` while the budget holds one and its date will be right. */
  nextSendAt(now: number): number {
    let at = now;
    if (this.budget(now) < this.packetBytes) {
      const refill = (this.packetBytes - this.budgetAtLastSend) / this.rate;
      at = Math.max(now, this.lastSendAt + Math.max(MIN_WAIT_MS, refill));
    }
    if (this.slotMs > 0 && !this.datedRight(at)) at = this.lastResetAt + this.slotMs;
    return at;
  }

  /** Whether a packet sent at `t` gets a date within DATED_WITHIN_MS of `t`. */
  private datedRight(t: number): boolean {
    const sinceReset = t - this.lastResetAt;
    return sinceReset <= DATED_WITHIN_MS || sinceReset >= this.slotMs;
  }

  /** A packet of `bytes` left at `now`. */
  onSent(bytes: number, now: number): void {
    // quiche's rule (pacer.rs, send): the clock resets when more than its interval has passed.
    if (now - this.lastResetAt > this.quicheIntervalMs) this.lastResetAt = now;
    this.budgetAtLastSend = Math.max(0, this.budget(now) - bytes);
    this.lastSendAt = now;
  }
}
