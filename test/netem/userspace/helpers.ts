import { ipv4HeaderChecksum, ipv4ToUint, ipv4TransportChecksum } from '../../../netem/userspace/model/packet.ts';

/** A valid IPv4 TCP or UDP packet with correct checksums. */
export function buildPacket(opts: {
  proto: 'tcp' | 'udp';
  src: string;
  dst: string;
  srcPort: number;
  dstPort: number;
  payload?: Uint8Array;
  tcpSeq?: number;
  udpChecksum?: boolean;
}): Uint8Array {
  const payload = opts.payload ?? new Uint8Array([1, 2, 3, 4, 5]);
  const l4 = opts.proto === 'tcp' ? 20 : 8;
  const total = 20 + l4 + payload.length;
  const p = new Uint8Array(total);
  const v = new DataView(p.buffer);
  p[0] = 0x45;
  v.setUint16(2, total);
  v.setUint16(4, 0x1234);
  p[6] = 0x40; // DF
  p[8] = 64;
  p[9] = opts.proto === 'tcp' ? 6 : 17;
  v.setUint32(12, ipv4ToUint(opts.src));
  v.setUint32(16, ipv4ToUint(opts.dst));
  v.setUint16(20, opts.srcPort);
  v.setUint16(22, opts.dstPort);
  if (opts.proto === 'tcp') {
    v.setUint32(24, opts.tcpSeq ?? 1000);
    p[32] = 0x50; // data offset 5
    p[33] = 0x18; // PSH ACK
    v.setUint16(34, 64240);
  } else {
    v.setUint16(24, 8 + payload.length);
  }
  p.set(payload, 20 + l4);
  v.setUint16(10, ipv4HeaderChecksum(p));
  const csumAt = opts.proto === 'tcp' ? 36 : 26;
  if (opts.proto === 'tcp' || opts.udpChecksum !== false) v.setUint16(csumAt, ipv4TransportChecksum(p));
  return p;
}

/** One's-complement sum of a byte range folded to 16 bits: 0xffff when a checksum over it verifies. */
export function verifySum(p: Uint8Array, start: number, end: number, extra = 0): number {
  let s = extra;
  for (let i = start; i < end; i += 2) s += (p[i]! << 8) | (i + 1 < end ? p[i + 1]! : 0);
  while (s > 0xffff) s = (s & 0xffff) + Math.floor(s / 0x10000);
  return s;
}

/** Verifies the IPv4 header and TCP/UDP checksums the way a receiver does. */
export function checksumsValid(p: Uint8Array): boolean {
  const ihl = (p[0]! & 0x0f) * 4;
  if (verifySum(p, 0, ihl) !== 0xffff) return false;
  const total = (p[2]! << 8) | p[3]!;
  const proto = p[9]!;
  if (proto === 17 && p[ihl + 6] === 0 && p[ihl + 7] === 0) return true;
  const pseudo = verifySum(p, 12, 20) + proto + (total - ihl);
  return verifySum(p, ihl, total, pseudo) === 0xffff;
}

export function mean(xs: readonly number[]): number {
  return xs.reduce((a, b) => a + b, 0) / xs.length;
}

export function stdev(xs: readonly number[]): number {
  const m = mean(xs);
  return Math.sqrt(xs.reduce((a, b) => a + (b - m) ** 2, 0) / (xs.length - 1));
}

export function lag1Correlation(xs: readonly number[]): number {
  const m = mean(xs);
  let num = 0;
  let den = 0;
  for (let i = 0; i < xs.length; i++) {
    den += (xs[i]! - m) ** 2;
    if (i > 0) num += (xs[i]! - m) * (xs[i - 1]! - m);
  }
  return num / den;
}

export function min(xs: readonly number[]): number {
  let m = Infinity;
  for (const x of xs) if (x < m) m = x;
  return m;
}

export function max(xs: readonly number[]): number {
  let m = -Infinity;
  for (const x of xs) if (x > m) m = x;
  return m;
}
