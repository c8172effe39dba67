/**
 * The whole link, without I/O: every path's two directions, NAT rebinding, a departure scheduler,
 * counters and the drop log. The link process feeds it packets read from the TUN devices and writes
 * what it releases; tests feed it with a fake clock.
 */
import { DeliveryLog } from './delivery-log.ts';
import type { DirectionModel, PathModel, Phase } from '../../model.ts';
import type { DropEvent, LinkCounters } from '../../types.ts';
import { LinkDirection, type DirectionSink, type JitterOrder } from './direction.ts';
import { ipv4ToUint, summarize } from './packet.ts';
import { Rebinder } from './rebind.ts';
import { PacketScheduler } from './scheduler.ts';

export type Dir = 'up' | 'down';

export interface EnginePathAddresses {
  clientAddress: string;
  rebindAddress: string;
}

export interface EngineOptions {
  seed: string | number;
  paths: PathModel[];
  /** Per path (same order): needed for rebinding. */
  addresses?: EnginePathAddresses[];
  jitterOrder?: JitterOrder;
  startMs: number;
  /** Parsed rate traces by the path string the models use. */
  traces?: ReadonlyMap<string, readonly number[]>;
  /** Drop events kept (older ones are kept, later ones counted in droppedEventsOmitted). Default 200,000. */
  maxDropEvents?: number;
  /** Drop events carry t = nowMs + this (nowMs on another monotonic clock than monoMs()). */
  dropClockOffsetMs?: number;
}

/** Receives each packet due to leave: where to write it (primitives: nothing allocated per packet). */
export type ReleaseSink = (pathIndex: number, dir: Dir, packet: Uint8Array, dueMs: number) => void;

interface PathState {
  name: string;
  up: LinkDirection;
  down: LinkDirection;
  upSink: DirectionSink;
  downSink: DirectionSink;
  rebinder?: Rebinder;
}

export class LinkEngine {
  private readonly paths: PathState[];
  /** Tag = 2 * pathIndex + (0 up, 1 down). */
  private readonly scheduler = new PacketScheduler<Uint8Array>();
  private readonly dropLog: DropEvent[] = [];
  private readonly deliveryLog: DeliveryLog;
  private readonly maxDropEvents: number;
  droppedEventsOmitted = 0;
  /** Told of every drop, as it happens (a capture marks the packet); unset when nobody listens. */
  onDrop: ((reason: DropEvent['reason']) => void) | undefined;
  /** Arrival time of the packet being offered (for the drop log). */
  private ingressNowMs = 0;
  /** Added to nowMs in drop events: lets the caller run on a cheaper clock than monoMs(). */
  private readonly dropClockOffsetMs: number;

  constructor(opts: EngineOptions) {
    this.maxDropEvents = opts.maxDropEvents ?? 200_000;
    this.dropClockOffsetMs = opts.dropClockOffsetMs ?? 0;
    this.deliveryLog = new DeliveryLog(undefined, this.dropClockOffsetMs);
    const traces = opts.traces ?? new Map();
    const jitterOrder = opts.jitterOrder ?? 'reorder';
    this.paths = opts.paths.map((p, i) => {
      const dirOpts = (dir: Dir) => ({ seed: opts.seed, label: `${p.name}/${dir}`, jitterOrder, startMs: opts.startMs, traces });
      const a = opts.addresses?.[i];
      const sink = (dir: Dir): DirectionSink => {
        const tag = 2 * i + (dir === 'up' ? 0 : 1);
        return {
          depart: (dueMs, packet) => this.scheduler.push(dueMs, packet, tag),
          drop: (packet, reason) => this.logDrop(i, dir, packet, this.ingressNowMs, reason),
        };
      };
      return {
        name: p.name,
        up: new LinkDirection(p.up, dirOpts('up')),
        down: new LinkDirection(p.down, dirOpts('down')),
        upSink: sink('up'),
        downSink: sink('down'),
        rebinder: a ? new Rebinder(ipv4ToUint(a.clientAddress), ipv4ToUint(a.rebindAddress)) : undefined,
      };
    });
  }

  get inFlight(): number {
    return this.scheduler.size;
  }

  /** A packet read at nowMs from path `pathIndex`'s client side (dir up) or server side (dir down). */
  ingress(pathIndex: number, dir: Dir, packet: Uint8Array, nowMs: number): void {
    const path = this.paths[pathIndex]!;
    // The rebinding NAT sits at the client's end of the path: the client's packets are rewritten
    // as they enter the link, the server's as they leave it (with the mapping in force then).
    if (dir === 'up') path.rebinder?.translateUp(packet);
    this.ingressNowMs = nowMs;
    if (dir === 'up') path.up.offer(packet, nowMs, path.upSink);
    else path.down.offer(packet, nowMs, path.downSink);
  }

  /**
   * Logs a drop with the client's own port: behind a rebinding NAT the packet carries the port the
   * server sees (an up packet is rewritten as it enters, a down one as it leaves), and drops are
   * joined with the client's connections by the port the client knows.
   */
  private logDrop(pathIndex: number, dir: Dir, packet: Uint8Array, t: number, reason: DropEvent['reason']): void {
    this.onDrop?.(reason);
    if (this.dropLog.length >= this.maxDropEvents) {
      this.droppedEventsOmitted++;
      return;
    }
    const path = this.paths[pathIndex]!;
    const s = summarize(packet);
    const e: DropEvent = { t: t + this.dropClockOffsetMs, path: path.name, dir, proto: s.proto, len: s.len, reason };
    const clientPort = (port: number) => path.rebinder?.clientPort(port) ?? port;
    if (s.srcPort !== undefined) e.srcPort = dir === 'up' ? clientPort(s.srcPort) : s.srcPort;
    if (s.dstPort !== undefined) e.dstPort = dir === 'down' ? clientPort(s.dstPort) : s.dstPort;
    if (s.tcpSeq !== undefined) e.tcpSeq = s.tcpSeq;
    this.dropLog.push(e);
  }

  /** When the next packet is due (Infinity when none waits). */
  nextDueMs(): number {
    return this.scheduler.peekDue();
  }

  /** Hands every packet due by nowMs to `emit`, in due order; returns how many. */
  release(nowMs: number, emit: ReleaseSink): number {
    const sched = this.scheduler;
    let n = 0;
    while (sched.size > 0 && sched.peekDue() <= nowMs) {
      const packet = sched.pop();
      const tag = sched.poppedTag;
      const pathIndex = tag >> 1;
      const path = this.paths[pathIndex]!;
      const dir: Dir = (tag & 1) === 0 ? 'up' : 'down';
      const direction = dir === 'up' ? path.up : path.down;
      // A path gone dark loses what it was carrying too (queued or on its way), as a radio link does.
      if (direction.model.blackhole) {
        direction.counters.dropped++;
        this.logDrop(pathIndex, dir, packet, sched.poppedDue, 'blackhole');
        continue;
      }
      direction.counters.packetsOut++;
      direction.counters.bytesOut! += packet.length;
      if (dir === 'down') {
        path.rebinder?.translateDown(packet);
        this.deliveryLog.record(packet, sched.poppedDue);
      }
      emit(pathIndex, dir, packet, sched.poppedDue);
      n++;
    }
    return n;
  }

  /** Every path's rate traces play from their first line again, from nowMs (a cell's start). */
  restartTraces(nowMs: number): void {
    for (const p of this.paths) {
      p.up.restartTrace(nowMs);
      p.down.restartTrace(nowMs);
    }
  }

  applyPhase(phase: Phase, nowMs: number): void {
    const targets = phase.path === undefined ? this.paths : this.paths.filter((p) => p.name === phase.path);
    if (targets.length === 0) throw new RangeError(`phase names path "${phase.path}", which this link does not have`);
    for (const p of targets) {
      if (phase.up) p.up.update(phase.up as Partial<DirectionModel>, nowMs);
      if (phase.down) p.down.update(phase.down as Partial<DirectionModel>, nowMs);
      if (phase.rebind) {
        if (!p.rebinder) throw new RangeError(`path "${p.name}" has no addresses to rebind`);
        p.rebinder.rebind(phase.rebind);
      }
    }
  }

  counters(): LinkCounters {
    const out: LinkCounters = {};
    for (const p of this.paths) out[p.name] = { up: p.up.snapshot(), down: p.down.snapshot() };
    return out;
  }

  drops(): DropEvent[] {
    return this.dropLog.slice();
  }

  /** Data packets delivered to the client since sinceMs (monoMs), by client port (delivery-log.ts). */
  deliveries(sinceMs: number): Record<number, number[]> {
    return this.deliveryLog.since(sinceMs);
  }
}
