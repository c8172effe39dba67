/**
 * Kernel link backends: a veth pair per path, created directly inside the two namespaces.
 * - 'kernel': tc netem (+ tbf, pfifo) on the egress of both ends, `tc qdisc change` for phases;
 * - 'veth': the same pairs without any qdisc, the unshaped reference for tests and benchmarks.
 */
import { BenchError, UserError } from '../../src/util/errors.ts';
import type { DirectionModel, PathModel, Phase } from '../model.ts';
import type { DirectionCounters, DropEvent, LinkCounters } from '../types.ts';
import type { LinkBackend, LinkUpContext, PathAddressing } from '../backend.ts';
import { directionCommands, offloadCommands, vethPairCommand } from './commands.ts';

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

export class KernelLinkBackend implements LinkBackend {
  private ctx: LinkUpContext | undefined;
  private readonly live = new Map<string, LivePath>();

  constructor(readonly name: 'kernel' | 'veth') {}

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
      await ctx.exec.run(vethPairCommand(ctx.clientNs, a.clientDevice, ctx.serverNs, a.serverDevice));
      if (!this.shaping) continue;
      for (const argv of [...offloadCommands(ctx.clientNs, a.clientDevice), ...offloadCommands(ctx.serverNs, a.serverDevice)]) {
        await ctx.exec.run(argv);
      }
      for (const argv of directionCommands(ctx.clientNs, a.clientDevice, undefined, up, ctx.mtu)) await ctx.exec.run(argv);
      for (const argv of directionCommands(ctx.serverNs, a.serverDevice, undefined, down, ctx.mtu)) await ctx.exec.run(argv);
    }
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

  async drops(): Promise<DropEvent[]> {
    return [];
  }

  /** The veth pairs live inside the namespaces and go with them; nothing else to undo. */
  async down(): Promise<void> {
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

  private async qdiscDrops(ns: string, dev: string): Promise<number> {
    if (!this.shaping) return 0;
    const { stdout } = await this.requireUp().exec.run(['tc', '-n', ns, '-s', '-j', 'qdisc', 'show', 'dev', dev]);
    const qdiscs = JSON.parse(stdout || '[]') as { drops?: number }[];
    return qdiscs.reduce((sum, q) => sum + (q.drops ?? 0), 0);
  }
}

function direction(sentByLink: number, received: number, dropped: number): DirectionCounters {
  return { packetsIn: sentByLink + dropped, packetsOut: received, dropped, duplicated: 0, reordered: 0, corrupted: 0 };
}

export function createKernelBackend(): LinkBackend {
  return new KernelLinkBackend('kernel');
}

/** Plain veth pairs, no qdisc: the unshaped reference. */
export function createVethBackend(): LinkBackend {
  return new KernelLinkBackend('veth');
}
