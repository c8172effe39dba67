/**
 * A link capture (netem/userspace/capture.ts) read as the link saw it: per packet the path, whether
 * it is the copy the link received (before loss and delay) or the one it delivered (when it left),
 * whether the link dropped it, and its UDP or TCP contents. Pure.
 */
import { DROP_COMMENT } from '../../netem/userspace/capture.ts';
import type { PcapngContents } from '../../netem/userspace/pcapng.ts';
import { parseIpPacket, type TransportPacket } from './ip.ts';

export interface LinkPacket extends TransportPacket {
  /** Its place in the capture, from 1 (as Wireshark numbers frames). */
  frame: number;
  /** Microseconds since the Unix epoch (the capture's clock). */
  timeUs: number;
  path: string;
  stage: 'received' | 'delivered';
  /** How many copies of it the link dropped (a duplicated packet can lose both); received copies only. */
  drops: number;
}

export function linkPackets(capture: PcapngContents): LinkPacket[] {
  const interfaces = capture.interfaces.map((i) => {
    const m = /^(.*) (received|delivered)$/.exec(i.name);
    return m ? { path: m[1]!, stage: m[2] as LinkPacket['stage'] } : undefined;
  });
  const out: LinkPacket[] = [];
  capture.packets.forEach((p, i) => {
    const where = interfaces[p.interfaceId];
    const packet = where && parseIpPacket(p.data);
    if (!where || !packet) return;
    const drops = (p.comments ?? []).filter((c) => c.startsWith(DROP_COMMENT)).length;
    out.push({ ...packet, frame: i + 1, timeUs: p.timestampUs, path: where.path, stage: where.stage, drops });
  });
  return out;
}
