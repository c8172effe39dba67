/**
 * One direction of one path: the model's decisions for each packet, in this order:
 * blackhole -> loss -> duplicate -> corrupt -> bottleneck (rate or trace, drop-tail) -> delay+jitter
 * (or none, for a reordered packet) -> departure time. Pure: time comes in as an argument.
 */
import type { DirectionModel } from '../../model.ts';
import type { DirectionCounters, DropEvent } from '../../types.ts';
import { RateBottleneck, TraceBottleneck, type Bottleneck } from './bottleneck.ts';
import { CorrelatedBernoulli, JitterSampler } from './distributions.ts';
import { createLoss, type LossProcess } from './loss.ts';
import { flipBit } from './packet.ts';
import { rngFor, type Rng } from './rng.ts';

import type { JitterOrder } from '../../model.ts';
export type { JitterOrder };

/** Where a direction's decisions go (one object per direction: nothing allocated per packet). */
export interface DirectionSink {
  depart(dueMs: number, packet: Uint8Array): void;
  drop(packet: Uint8Array, reason: DropReason): void;
}

export type DropReason = DropEvent['reason'];

export interface DirectionOptions {
  seed: string | number;
  /** "path/dir", for the random streams. */
  label: string;
  jitterOrder: JitterOrder;
  /** When the link started: time zero of a trace until restartTrace() or a phase sets one anew. */
  startMs: number;
  /** Parsed rate traces by path name (model.rateTrace). */
  traces: ReadonlyMap<string, readonly number[]>;
}

function emptyCounters(): DirectionCounters {
  return { packetsIn: 0, packetsOut: 0, dropped: 0, duplicated: 0, reordered: 0, corrupted: 0, bytesIn: 0, bytesOut: 0 };
}

export class LinkDirection {
  model: DirectionModel;
  readonly counters: DirectionCounters = emptyCounters();
  private queueDelaySumMs = 0;
  private queueDelayCount = 0;
  private queueDelayMaxMs = 0;
  private loss!: LossProcess;
  private bottleneck: Bottleneck | undefined;
  private readonly jitter: JitterSampler;
  private readonly duplicate: CorrelatedBernoulli;
  private readonly reorder: CorrelatedBernoulli;
  private readonly corrupt: CorrelatedBernoulli;
  private readonly corruptRng: Rng;
  private lossGeneration = 0;
  private lastDueMs = -Infinity;
  private lastDepartMs = -Infinity;

  constructor(
    model: DirectionModel,
    private readonly opts: DirectionOptions,
  ) {
    this.model = { ...model };
    const r = (what: string) => rngFor(opts.seed, `${opts.label}/${what}`);
    this.jitter = new JitterSampler(r('jitter'), model.jitterDistribution, model.jitterCorrelation);
    this.duplicate = new CorrelatedBernoulli(r('duplicate'));
    this.reorder = new CorrelatedBernoulli(r('reorder'));
    this.corrupt = new CorrelatedBernoulli(r('corrupt'));
    this.corruptRng = r('corrupt-bit');
    this.rebuildLoss();
    this.rebuildBottleneck(opts.startMs);
  }

  private rebuildLoss(): void {
    // A new stream per loss model, so a phase that changes the loss does not replay old decisions.
    this.loss = createLoss(this.model.loss, rngFor(this.opts.seed, `${this.opts.label}/loss/${this.lossGeneration++}`));
  }

  /**
   * Packets already admitted keep their departure times; the new bottleneck starts serving when the
   * old one would have finished, so FIFO order holds across the change.
   */
  private rebuildBottleneck(nowMs: number): void {
    const m = this.model;
    const limits = { packets: m.queueLimitPackets, bytes: m.queueLimitBytes };
    if (m.rateTrace !== undefined) {
      const trace = this.opts.traces.get(m.rateTrace);
      if (!trace) throw new RangeError(`rate trace ${m.rateTrace} was not loaded`);
      // A trace plays from the moment it is set (the link's start, a phase, a restart).
      this.bottleneck = new TraceBottleneck(trace, nowMs, limits);
    } else if (m.rateBps !== undefined) {
      const b = new RateBottleneck(m.rateBps, limits);
      if (this.lastDepartMs > nowMs) b.admit(this.lastDepartMs, 0);
      this.bottleneck = b;
    } else {
      this.bottleneck = undefined;
    }
  }

  /** Plays the rate trace (if any) from its first line again, from nowMs. */
  restartTrace(nowMs: number): void {
    if (this.model.rateTrace !== undefined) this.rebuildBottleneck(nowMs);
  }

  /** Apply a phase's partial model at nowMs. */
  update(change: Partial<DirectionModel>, nowMs: number): void {
    const before = this.model;
    this.model = { ...before, ...change };
    if ('loss' in change) this.rebuildLoss();
    if ('jitterDistribution' in change || 'jitterCorrelation' in change) {
      this.jitter.configure(this.model.jitterDistribution, this.model.jitterCorrelation);
    }
    if (
      before.rateBps !== this.model.rateBps ||
      before.rateTrace !== this.model.rateTrace ||
      before.queueLimitBytes !== this.model.queueLimitBytes ||
      before.queueLimitPackets !== this.model.queueLimitPackets
    ) {
      this.rebuildBottleneck(nowMs);
    }
  }

  /**
   * Decide the fate of one packet arriving at nowMs: departures and drops go to `sink`
   * (a duplicated packet can give one of each).
   */
  offer(packet: Uint8Array, nowMs: number, sink: DirectionSink): void {
    const m = this.model;
    const c = this.counters;
    c.packetsIn++;
    c.bytesIn! += packet.length;
    if (m.blackhole) {
      c.dropped++;
      return sink.drop(packet, 'blackhole');
    }
    if (this.loss.lose()) {
      c.dropped++;
      return sink.drop(packet, 'loss');
    }
    const twice = m.duplicate > 0 && this.duplicate.draw(m.duplicate, 0);
    if (twice) c.duplicated++;
    // Copy before forwarding: each copy is corrupted (or not) on its own.
    const copy = twice ? Uint8Array.prototype.slice.call(packet) : undefined;
    if (!this.forward(packet, nowMs, sink)) sink.drop(packet, 'queue');
    if (copy && !this.forward(copy, nowMs, sink)) sink.drop(copy, 'queue');
  }

  /** false = dropped at the queue's tail. */
  private forward(packet: Uint8Array, nowMs: number, sink: DirectionSink): boolean {
    const m = this.model;
    const c = this.counters;
    if (m.corrupt > 0 && packet.length > 0 && this.corrupt.draw(m.corrupt, 0)) {
      flipBit(packet, Math.floor(this.corruptRng.next() * packet.length * 8));
      c.corrupted++;
    }
    let departMs = nowMs;
    if (this.bottleneck) {
      const a = this.bottleneck.admit(nowMs, packet.length);
      if (!a) {
        c.dropped++;
        return false;
      }
      departMs = a.departMs;
      this.lastDepartMs = departMs;
      this.queueDelaySumMs += a.queueDelayMs;
      this.queueDelayCount++;
      if (a.queueDelayMs > this.queueDelayMaxMs) this.queueDelayMaxMs = a.queueDelayMs;
    }
    let dueMs: number;
    if (m.reorder > 0 && this.reorder.draw(m.reorder, m.reorderCorrelation)) {
      // netem reorder: this packet is sent at once, ahead of delayed ones.
      c.reordered++;
      dueMs = departMs;
    } else {
      dueMs = departMs + this.jitter.sample(m.delayMs, m.jitterMs);
      if (this.opts.jitterOrder === 'fifo' && dueMs < this.lastDueMs) dueMs = this.lastDueMs;
      this.lastDueMs = dueMs;
    }
    sink.depart(dueMs, packet);
    return true;
  }

  snapshot(): DirectionCounters {
    const s: DirectionCounters = { ...this.counters };
    if (this.queueDelayCount > 0) {
      s.queueDelayMeanMs = this.queueDelaySumMs / this.queueDelayCount;
      s.queueDelayMaxMs = this.queueDelayMaxMs;
    }
    return s;
  }
}
