/**
 * Kernel link backends: a veth pair per path, created directly inside the two namespaces.
 * - 'kernel': tc netem (+ tbf, pfifo) on the egress of both ends, `tc qdisc change` for phases, and
 *   a drop log: each end's egress mirrored before its qdiscs to a dummy device, packet sockets on
 *   the mirrors and on the receiving ends, entered vs arrived (capture.ts, drop-log.ts);
 * - 'veth': the same pairs without any qdisc, the unshaped reference for tests and benchmarks.
 */
import { BenchError, UserError } from '../../src/util/errors.ts';
import type { DirectionModel, PathModel, Phase } from '../model.ts';
import type { DirectionCounters, DropEvent, DropLogStatus, LinkCounters } from '../types.ts';
import type { LinkBackend, LinkUpContext, PathAddressing } from '../backend.ts';
import { monoMs } from '../../src/util/clock.ts';
import { directionCommands, mirrorCommands, mirrorDeviceName, offloadCommands, vethPairCommand } from './commands.ts';
import type { DirectionTaps, PacketLog } from './capture.ts';

interface LivePath {
  addressing: PathAddressing;
  up: DirectionModel;
  down: DirectionModel;
}

interface LinkStats {
  rxPackets: number;
  txPackets: number;
  txDropped: number;
}

export interface KernelBackendOptions {
  /** Keep the drop and delivery log (default true; the fidelity measurement needs none). */
  dropLog?: boolean;
}

/** An unmatched packet younger than this may still be between the qdisc and the receiver's socket. */
const SETTLE_MIN_AGE_MS = 50;

export class KernelLinkBackend implements LinkBackend {
  private ctx: LinkUpContext | undefined;
  private readonly live = new Map<string, LivePath>();
  private log: PacketLog | undefined;
  private logStatus: DropLogStatus = { kept: false, detail: 'the link is not up' };

  constructor(
    readonly name: 'kernel' | 'veth',
    private readonly opts: KernelBackendOptions = {},
  ) {}

  private get shaping(): boolean {
    return this.name === 'kernel';
  }

  async up(ctx: LinkUpContext): Promise<void> {
    if (this.ctx) throw new BenchError('NETEM_BACKEND_REUSED', 'a link backend serves one run; create a new one');
    this.ctx = ctx;
    ctx.paths.forEach((p: PathModel, i) => {
      const addressing = ctx.addressing[i];
      if (!addressing) throw new BenchError('NETEM_ADDRESSING', `no addressing for path ${p.name}`);
      this.live.set(p.name, { addressing, up: p.up, down: p.down });
    });
    if (this.shaping && (await ctx.exec.run(['ethtool', '--version'], { check: false })).exitCode !== 0) {
      throw new UserError('NETEM_NO_ETHTOOL', 'the kernel backend needs ethtool (to turn segmentation offloads off, so loss and rate apply per packet); apt-get install ethtool');
    }
    for (const { addressing: a, up, down } of this.live.values()) {
      await ctx.exec.run(vethPairCommand(ctx.clientNs, a.clientDevice, ctx.serverNs, a.serverDevice, this.shaping ? { gsoMaxSegs: 1 } : {}));
      if (!this.shaping) continue;
      for (const argv of [...offloadCommands(ctx.clientNs, a.clientDevice), ...offloadCommands(ctx.serverNs, a.serverDevice)]) {
        await ctx.exec.run(argv);
      }
      for (const argv of directionCommands(ctx.clientNs, a.clientDevice, undefined, up, ctx.mtu)) await ctx.exec.run(argv);
      for (const argv of directionCommands(ctx.serverNs, a.serverDevice, undefined, down, ctx.mtu)) await ctx.exec.run(argv);
    }
    if (!this.shaping) this.logStatus = { kept: false, detail: 'plain veth pairs: nothing is shaped or dropped by the link' };
    else if (this.opts.dropLog === false) this.logStatus = { kept: false, detail: 'not kept for this topology' };
    else await this.startDropLog(ctx);
  }

  /**
   * Mirrors and packet sockets for every direction. A kernel without clsact, mirred, matchall or
   * dummy devices runs without the log: the run goes on, its head-of-line figures unavailable.
   */
  private async startDropLog(ctx: LinkUpContext): Promise<void> {
    const directions: DirectionTaps[] = [];
    try {
      for (const [name, { addressing: a }] of this.live) {
        const mirror = mirrorDeviceName(a.index, name);
        for (const argv of [...mirrorCommands(ctx.clientNs, a.clientDevice, mirror), ...mirrorCommands(ctx.serverNs, a.serverDevice, mirror)]) {
          await ctx.exec.run(argv);
        }
        directions.push(
          { path: name, dir: 'up', enter: { ns: ctx.clientNs, device: mirror }, arrive: { ns: ctx.serverNs, device: a.serverDevice } },
          { path: name, dir: 'down', enter: { ns: ctx.serverNs, device: mirror }, arrive: { ns: ctx.clientNs, device: a.clientDevice } },
        );
      }
      const { PacketLog } = await import('./capture.ts');
      this.log = new PacketLog(directions);
      this.log.start();
      this.logStatus = {
        kept: true,
        detail: 'packets entering each netem qdisc (mirrored before it) against packets arriving at the other end',
      };
    } catch (e) {
      this.log?.close();
      this.log = undefined;
      this.logStatus = { kept: false, detail: `the drop log could not be set up: ${(e as Error).message.split('\n')[0]}` };
    }
  }

  dropLogStatus(): DropLogStatus {
    const failed = this.log?.failed();
    if (this.logStatus.kept && failed !== undefined) return { kept: false, detail: `the capture behind the drop log failed (${failed}), so it is incomplete` };
    const lost = this.log?.lostPackets() ?? 0;
    if (this.logStatus.kept && lost > 0) {
      return { kept: false, detail: `the capture behind the drop log lost ${lost} packet(s) (its socket buffers overflowed), so it is incomplete` };
    }
    return this.logStatus;
  }

  async applyPhase(phase: Phase): Promise<void> {
    const ctx = this.requireUp();
    if (!this.shaping) throw new BenchError('NETEM_VETH_NO_SHAPING', 'the plain veth backend does not shape: phases need the kernel or userspace backend');
    if (phase.rebind) {
      throw new UserError('NETEM_KERNEL_NO_REBIND', 'address/port rebinding needs the userspace backend; set network.backend: userspace');
    }
    const targets = phase.path === undefined ? [...this.live.values()] : [this.live.get(phase.path)];
    for (const lp of targets) {
      if (!lp) throw new UserError('NETEM_UNKNOWN_PATH', `phase at ${phase.atMs} ms names path "${phase.path}", which the network does not have`);
      const up = { ...lp.up, ...phase.up };
      const down = { ...lp.down, ...phase.down };
      for (const argv of directionCommands(ctx.clientNs, lp.addressing.clientDevice, lp.up, up, ctx.mtu)) await ctx.exec.run(argv);
      for (const argv of directionCommands(ctx.serverNs, lp.addressing.serverDevice, lp.down, down, ctx.mtu)) await ctx.exec.run(argv);
      lp.up = up;
      lp.down = down;
    }
  }

  /**
   * From device and qdisc statistics. The kernel does not count duplicated, reordered or corrupted
   * packets, nor queue delay: those stay 0 / absent for this backend.
   */
  async counters(): Promise<LinkCounters> {
    const ctx = this.requireUp();
    const out: LinkCounters = {};
    for (const [name, { addressing: a }] of this.live) {
      const [c, s, cDrops, sDrops] = await Promise.all([
        this.linkStats(ctx.clientNs, a.clientDevice),
        this.linkStats(ctx.serverNs, a.serverDevice),
        this.qdiscDrops(ctx.clientNs, a.clientDevice),
        this.qdiscDrops(ctx.serverNs, a.serverDevice),
      ]);
      out[name] = {
        up: direction(c.txPackets, s.rxPackets, cDrops + c.txDropped),
        down: direction(s.txPackets, c.rxPackets, sDrops + s.txDropped),
      };
    }
    return out;
  }

  /**
   * Drops settled so far: what entered a direction's netem and did not arrive, except the packets
   * its qdiscs still hold (their backlog) and those seen in the last SETTLE_MIN_AGE_MS.
   */
  async drops(): Promise<DropEvent[]> {
    const log = this.log;
    if (!log || !this.ctx) return [];
    const ctx = this.ctx;
    log.drain();
    const held: Array<{ path: string; dir: 'up' | 'down'; packets: number; reason: DropEvent['reason'] }> = [];
    for (const [name, lp] of this.live) {
      held.push(
        { path: name, dir: 'up', packets: await this.backlog(ctx.clientNs, lp.addressing.clientDevice), reason: dropReason(lp.up) },
        { path: name, dir: 'down', packets: await this.backlog(ctx.serverNs, lp.addressing.serverDevice), reason: dropReason(lp.down) },
      );
    }
    // What left the qdiscs while their backlog was read has arrived by now.
    log.drain();
    const now = monoMs();
    for (const h of held) log.settle(h.path, h.dir, h.packets, h.reason, now, SETTLE_MIN_AGE_MS);
    return [...log.drops()];
  }

  async deliveries(sinceMs: number): Promise<Record<number, number[]> | undefined> {
    if (!this.log) return undefined;
    this.log.drain();
    return this.log.deliveries.since(sinceMs);
  }

  /** The drop log's own tally per direction (entered, arrived, pending, dropped), for tests. */
  dropLogTally(): ReturnType<PacketLog['tally']> | undefined {
    this.log?.drain();
    return this.log?.tally();
  }

  /** The veth pairs and mirrors live inside the namespaces and go with them; the sockets close here. */
  async down(): Promise<void> {
    this.log?.close();
    this.log = undefined;
    this.live.clear();
  }

  private requireUp(): LinkUpContext {
    if (!this.ctx) throw new BenchError('NETEM_BACKEND_NOT_UP', 'link backend used before up()');
    return this.ctx;
  }

  private async linkStats(ns: string, dev: string): Promise<LinkStats> {
    const { stdout } = await this.requireUp().exec.run(['ip', '-n', ns, '-j', '-s', 'link', 'show', 'dev', dev]);
    const [link] = JSON.parse(stdout) as { stats64: { rx: { packets: number }; tx: { packets: number; dropped: number } } }[];
    if (!link) throw new BenchError('NETEM_NO_DEVICE', `${dev} not found in ${ns}`);
    return { rxPackets: link.stats64.rx.packets, txPackets: link.stats64.tx.packets, txDropped: link.stats64.tx.dropped };
  }

  /** Packets the qdiscs on a device's egress hold (netem's delay line, the bottleneck queue). */
  private async backlog(ns: string, dev: string): Promise<number> {
    const { stdout } = await this.requireUp().exec.run(['tc', '-n', ns, '-s', '-j', 'qdisc', 'show', 'dev', dev]);
    const qdiscs = JSON.parse(stdout || '[]') as { kind?: string; qlen?: number }[];
    return qdiscs.reduce((sum, q) => sum + (q.kind === 'clsact' ? 0 : (q.qlen ?? 0)), 0);
  }

  private async qdiscDrops(ns: string, dev: string): Promise<number> {
    if (!this.shaping) return 0;
    const { stdout } = await this.requireUp().exec.run(['tc', '-n', ns, '-s', '-j', 'qdisc', 'show', 'dev', dev]);
    const qdiscs = JSON.parse(stdout || '[]') as { drops?: number }[];
    return qdiscs.reduce((sum, q) => sum + (q.drops ?? 0), 0);
  }
}

/**
 * What a drop in this direction was, as far as the model tells: the kernel does not say per packet
 * whether netem's loss or the bottleneck queue dropped it, so with both configured it is 'loss'.
 */
function dropReason(d: DirectionModel): DropEvent['reason'] {
  if (d.blackhole) return 'blackhole';
  if (d.loss.model === 'none' && d.rateBps !== undefined) return 'queue';
  return 'loss';
}

function direction(sentByLink: number, received: number, dropped: number): DirectionCounters {
  return { packetsIn: sentByLink + dropped, packetsOut: received, dropped, duplicated: 0, reordered: 0, corrupted: 0 };
}

export function createKernelBackend(opts: KernelBackendOptions = {}): KernelLinkBackend {
  return new KernelLinkBackend('kernel', opts);
}

/** Plain veth pairs, no qdisc: the unshaped reference. */
export function createVethBackend(): LinkBackend {
  return new KernelLinkBackend('veth');
}
