/**
 * tc command lines for one direction of a path, built from the link model. Pure: no I/O.
 *
 * Each direction is shaped on the egress of its sending device (up = client device, down = server
 * device) by a stack of up to three qdiscs:
 *
 *   root 1: netem  delay / jitter / loss / duplicate / reorder / corrupt, with a large `limit`
 *    └ 1:1 -> 2: tbf    rate (when rateBps is set)
 *       └ 2:1 -> 3: pfifo  drop-tail queue in packets (when queueLimitPackets is set;
 *                          a byte limit is tbf's own `limit`)
 *
 * Why not netem's own `rate` and `limit`: netem's limit counts every packet it is delaying, not only
 * those waiting for the bottleneck, so a 25-packet queue on a 30 ms path would drop most of a
 * window. A tbf below netem gives the bottleneck queue the model means.
 */
import { UserError } from '../../src/util/errors.ts';
import type { DirectionModel } from '../model.ts';

/** netem's delay line must hold every packet in flight; memory is used only by packets present. */
export const NETEM_DELAY_QUEUE_PACKETS = 100_000;
/** tbf limit in bytes when the model gives no byte limit (the pfifo child, if any, limits instead). */
export const DEFAULT_QUEUE_PACKETS = 1000;
/** Ethernet header: tbf counts it in a packet's length. */
const L2_HEADER_BYTES = 14;

/** Milliseconds as tc time: whole ms as "25ms", otherwise microseconds ("12500us"). */
export function formatTime(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`bad time ${ms} ms`);
  return Number.isInteger(ms) ? `${ms}ms` : `${Math.round(ms * 1000)}us`;
}

/** A 0..1 fraction as a tc percentage, without float noise: 0.035 -> "3.5%". */
export function formatPercent(fraction: number): string {
  if (!Number.isFinite(fraction) || fraction < 0 || fraction > 1) throw new RangeError(`bad fraction ${fraction}`);
  return `${Number((fraction * 100).toPrecision(10))}%`;
}

export function formatRate(bps: number): string {
  if (!Number.isFinite(bps) || bps <= 0) throw new RangeError(`bad rate ${bps} bit/s`);
  return `${Math.round(bps)}bit`;
}

/** Parameters after `netem` for one direction. */
export function netemParams(d: DirectionModel): string[] {
  const out: string[] = ['limit', String(NETEM_DELAY_QUEUE_PACKETS)];
  if (d.delayMs > 0 || d.jitterMs > 0) {
    out.push('delay', formatTime(d.delayMs));
    if (d.jitterMs > 0) {
      out.push(formatTime(d.jitterMs));
      if (d.jitterCorrelation > 0) out.push(formatPercent(d.jitterCorrelation));
      // netem's default jitter is uniform, and iproute2 ships no uniform.dist table to name.
      if (d.jitterDistribution !== 'uniform') out.push('distribution', d.jitterDistribution);
    }
  }
  if (d.blackhole) {
    out.push('loss', 'random', '100%');
  } else if (d.loss.model === 'random' && d.loss.probability > 0) {
    out.push('loss', 'random', formatPercent(d.loss.probability));
    if (d.loss.correlation > 0) out.push(formatPercent(d.loss.correlation));
  } else if (d.loss.model === 'gilbert-elliott') {
    const { p, r, oneMinusH, oneMinusK } = d.loss;
    out.push('loss', 'gemodel', formatPercent(p), formatPercent(r), formatPercent(oneMinusH), formatPercent(oneMinusK));
  }
  if (d.duplicate > 0) out.push('duplicate', formatPercent(d.duplicate));
  if (d.reorder > 0) {
    if (d.delayMs <= 0) {
      throw new UserError('NETEM_REORDER_NEEDS_DELAY', 'reorder needs a delay (reordered packets are the ones sent without it); set delay on that direction');
    }
    out.push('reorder', formatPercent(d.reorder));
    if (d.reorderCorrelation > 0) out.push(formatPercent(d.reorderCorrelation));
  }
  if (d.corrupt > 0) out.push('corrupt', formatPercent(d.corrupt));
  return out;
}

/** tbf burst: two full packets, or 1 ms of tokens at high rates, whichever is larger. */
export function tbfBurstBytes(rateBps: number, mtu: number): number {
  return Math.max(2 * (mtu + L2_HEADER_BYTES), Math.ceil(rateBps / 8 / 1000));
}

export function tbfParams(d: DirectionModel, mtu: number): string[] | undefined {
  if (d.rateBps === undefined) return undefined;
  if (d.queueLimitPackets !== undefined && d.queueLimitBytes !== undefined) {
    throw new UserError(
      'NETEM_KERNEL_QUEUE_LIMIT',
      'the kernel backend limits the bottleneck queue in packets or in bytes, not both; remove one of queueLimitPackets / queueLimitBytes',
    );
  }
  const limitBytes = d.queueLimitBytes ?? DEFAULT_QUEUE_PACKETS * (mtu + L2_HEADER_BYTES);
  return ['rate', formatRate(d.rateBps), 'burst', String(tbfBurstBytes(d.rateBps, mtu)), 'limit', String(limitBytes)];
}

export function pfifoParams(d: DirectionModel): string[] | undefined {
  if (d.rateBps === undefined || d.queueLimitPackets === undefined) return undefined;
  return ['limit', String(d.queueLimitPackets)];
}

/**
 * Commands that take a device's egress from the `before` model (undefined = no qdisc yet) to `after`.
 * First setup is `add`; phases `change` what stays and add/delete the rate stack as needed
 * (tbf's child cannot be removed on its own: deleting it would leave tbf with a no-op queue).
 */
export function directionCommands(
  ns: string,
  dev: string,
  before: DirectionModel | undefined,
  after: DirectionModel,
  mtu: number,
): string[][] {
  const tc = ['tc', '-n', ns, 'qdisc'];
  const at = (op: string, where: string[], kind: string, params: string[]) => [...tc, op, 'dev', dev, ...where, kind, ...params];
  const ROOT = ['root', 'handle', '1:'];
  const RATE = ['parent', '1:1', 'handle', '2:'];
  const QUEUE = ['parent', '2:1', 'handle', '3:'];
  const cmds: string[][] = [];

  const netemAfter = netemParams(after);
  if (!before) cmds.push(at('add', ROOT, 'netem', netemAfter));
  else if (netemParams(before).join(' ') !== netemAfter.join(' ')) cmds.push(at('change', ROOT, 'netem', netemAfter));

  const tbfBefore = before ? tbfParams(before, mtu) : undefined;
  const fifoBefore = before ? pfifoParams(before) : undefined;
  const tbfAfter = tbfParams(after, mtu);
  const fifoAfter = pfifoParams(after);
  const sameShape = tbfBefore !== undefined && tbfAfter !== undefined && (fifoBefore === undefined) === (fifoAfter === undefined);
  if (sameShape) {
    const tbfChanged = tbfBefore.join(' ') !== tbfAfter.join(' ');
    if (tbfChanged) cmds.push(at('change', RATE, 'tbf', tbfAfter));
    // tbf's change also resets its child's limit: restate the packet limit after it.
    if (fifoAfter && (tbfChanged || fifoBefore?.join(' ') !== fifoAfter.join(' '))) cmds.push(at('change', QUEUE, 'pfifo', fifoAfter));
  } else {
    if (tbfBefore) cmds.push([...tc, 'del', 'dev', dev, ...RATE]);
    if (tbfAfter) {
      cmds.push(at('add', RATE, 'tbf', tbfAfter));
      if (fifoAfter) cmds.push(at('add', QUEUE, 'pfifo', fifoAfter));
    }
  }
  return cmds;
}

/** Device settings so that tc sees wire-sized packets: segmentation offloads off. */
export function offloadCommands(ns: string, dev: string): string[][] {
  return [['ip', 'netns', 'exec', ns, 'ethtool', '-K', dev, 'tso', 'off', 'gso', 'off', 'gro', 'off']];
}

/**
 * `gsoMaxSegs: 1` for shaped pairs: Linux TCP always hands the device GSO packets (up to 64 KB),
 * segmented after the qdiscs when the device has no segmentation offload, so netem would lose or
 * delay a whole burst as one packet; a device that takes one segment per packet gets wire-sized
 * TCP packets. (UDP GSO ignores the limit: the runner turns it off in the senders instead.)
 */
export function vethPairCommand(clientNs: string, clientDev: string, serverNs: string, serverDev: string, opts: { gsoMaxSegs?: number } = {}): string[] {
  const gso = opts.gsoMaxSegs === undefined ? [] : ['gso_max_segs', String(opts.gsoMaxSegs)];
  // Both ends are created directly inside their namespaces: the host namespace never sees them.
  return ['ip', 'link', 'add', 'name', clientDev, 'netns', clientNs, ...gso, 'type', 'veth', 'peer', 'name', serverDev, 'netns', serverNs, ...gso];
}

/** Name of the dummy device a path's egress is mirrored to (unique inside its namespace). */
export function mirrorDeviceName(index: number, pathName: string): string {
  const safe = pathName.toLowerCase().replace(/[^a-z0-9]/g, '').slice(0, 9);
  return `m${index}-${safe || 'path'}`.slice(0, 15);
}

/**
 * For the drop log: every packet `dev` sends is mirrored, before its qdiscs (clsact egress runs
 * ahead of the root qdisc), to the dummy device `mirror`, where a packet socket reads what entered
 * netem; the receiver's end reads what came out. The original goes on unchanged (mirror, not redirect).
 */
export function mirrorCommands(ns: string, dev: string, mirror: string): string[][] {
  return [
    ['ip', '-n', ns, 'link', 'add', mirror, 'type', 'dummy'],
    ['ip', '-n', ns, 'link', 'set', mirror, 'up'],
    ['tc', '-n', ns, 'qdisc', 'add', 'dev', dev, 'clsact'],
    ['tc', '-n', ns, 'filter', 'add', 'dev', dev, 'egress', 'matchall', 'action', 'mirred', 'egress', 'mirror', 'dev', mirror],
  ];
}
