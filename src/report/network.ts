/** Words for a network variant: what the link was, and whether it was shaped at all. */
import type { DirectionModel, JitterOrder, LossModel, PathModel, SenderPacing, TcpCongestionControl } from '../../netem/model.ts';
import { baseRttMs } from '../../netem/model.ts';
import path from 'node:path';
import { formatNumber, formatSetting } from './format.ts';
import type { NetworkVariantResult } from '../results/model.ts';

export const NOT_SHAPED = 'network not shaped: plain loopback';

export interface NetworkDescription {
  shaped: boolean;
  /** One line, e.g. "lte profile, userspace backend: RTT 70 ms, down 12 Mbit/s, up 12 Mbit/s". */
  summary: string;
  /** One line per path (and one for phases), for the detail view. */
  details: string[];
  /** Why this backend ran, when the result says (e.g. "auto: userspace because ..."). */
  backendReason?: string;
}

export function describeNetwork(variant: NetworkVariantResult): NetworkDescription {
  const spec = variant.spec;
  if (spec.kind === 'none' || variant.backend === 'none') {
    return { shaped: false, summary: NOT_SHAPED, details: [NOT_SHAPED] };
  }
  const origin = [spec.profile ? `${spec.profile} profile` : undefined, `${variant.backend} backend`]
    .filter(Boolean)
    .join(', ');
  const details = spec.paths.map((p) => `${p.name}: ${describePath(p, spec.jitterOrder)}`);
  details.push(`MTU ${spec.mtu}, TCP congestion control ${spec.congestionControl}`);
  details.push(describePacing(spec.pacing ?? 'default', spec.congestionControl));
  if (spec.phases.length > 0) {
    details.push(`${spec.phases.length} phase change${spec.phases.length === 1 ? '' : 's'} during the run`);
  }
  const first = spec.paths[0];
  const pathText = first ? describePath(first, spec.jitterOrder) : 'no paths';
  const more = spec.paths.length > 1 ? ` (+${spec.paths.length - 1} more path${spec.paths.length > 2 ? 's' : ''})` : '';
  return { shaped: true, summary: `${origin}: ${pathText}${more}`, details, ...(variant.backendReason && { backendReason: variant.backendReason }) };
}

/** Which of bench's own senders paced, and how (network.pacing; src/quic/config.ts, servers/listen.ts). */
export function describePacing(pacing: SenderPacing, congestionControl: TcpCongestionControl): string {
  const bbr = congestionControl === 'bbr';
  const benchQuic = bbr
    ? 'QUIC paced by BBR (quiche)'
    : "QUIC paced by bench (2 x cwnd/srtt in slow start, 1.2 x after; windows under 80 packets unpaced; HTTP/3 clients by quiche's pacer)";
  const tcpAsShipped = bbr ? 'TCP paced by BBR' : `TCP not paced (${congestionControl} without an fq qdisc sends in bursts)`;
  switch (pacing) {
    case 'on':
      return `pacing on: ${benchQuic}; TCP paced by Linux (2 x cwnd/srtt in slow start, 1.2 x after)`;
    case 'off':
      return 'pacing off: neither QUIC nor TCP paces';
    case 'quiche':
      return `pacing by quiche: QUIC paced by quiche (1.25 x cwnd/srtt, in slow start too; packets dated at its release time); ${tcpAsShipped}`;
    case 'default':
      return `pacing as the stacks ship: ${benchQuic}; ${tcpAsShipped}`;
  }
}

function describePath(path: PathModel, jitterOrder: JitterOrder = 'reorder'): string {
  const parts = [`RTT ${formatSetting(baseRttMs(path), 'ms')}`];
  const jitter = Math.max(path.up.jitterMs, path.down.jitterMs);
  if (jitter > 0) parts.push(`jitter \u00b1${formatSetting(jitter, 'ms')} (${path.down.jitterDistribution}, ${jitterOrder === 'fifo' ? 'in order' : 'may reorder'})`);
  parts.push(`down ${rate(path.down)}, up ${rate(path.up)}`);
  const loss = describeLoss(path.down.loss, path.up.loss);
  if (loss) parts.push(loss);
  const extras = (['duplicate', 'reorder', 'corrupt'] as const)
    .filter((k) => path.down[k] > 0 || path.up[k] > 0)
    .map((k) => `${k} ${formatSetting(Math.max(path.down[k], path.up[k]), '%')}`);
  parts.push(...extras);
  const queue = path.down.queueLimitPackets ?? path.up.queueLimitPackets;
  if (queue !== undefined) parts.push(`${queue}-packet queue`);
  if (path.down.blackhole || path.up.blackhole) parts.push('blackhole');
  return parts.join(', ');
}

function rate(d: DirectionModel): string {
  if (d.rateTrace) return `trace ${path.basename(d.rateTrace)}`;
  return d.rateBps === undefined ? 'unlimited' : formatSetting(d.rateBps, 'bit/s');
}

function describeLoss(down: LossModel, up: LossModel): string | undefined {
  const same = JSON.stringify(down) === JSON.stringify(up);
  const one = (l: LossModel): string | undefined => {
    switch (l.model) {
      case 'none':
        return undefined;
      case 'random':
        return `loss ${formatSetting(l.probability, '%')}${l.correlation > 0 ? ` (correlation ${formatNumber(l.correlation, 2)})` : ''}`;
      case 'gilbert-elliott':
        return `Gilbert-Elliott loss (p ${formatSetting(l.p, '%')}, r ${formatSetting(l.r, '%')}, 1-h ${formatSetting(l.oneMinusH, '%')}, 1-k ${formatSetting(l.oneMinusK, '%')})`;
    }
  };
  if (same) return one(down);
  const d = one(down);
  const u = one(up);
  return [d && `${d} down`, u && `${u} up`].filter(Boolean).join(', ') || undefined;
}
