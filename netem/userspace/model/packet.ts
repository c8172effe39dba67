/**
 * Just enough IPv4/IPv6 parsing for the link: protocol, ports and TCP sequence number (drop log),
 * address and port rewriting with incremental checksum updates (RFC 1624), and single-bit corruption.
 * Bytes in, values out; nothing here touches the OS.
 */
export const IPPROTO_TCP = 6;
export const IPPROTO_UDP = 17;

export interface PacketSummary {
  proto: 'tcp' | 'udp' | 'other';
  srcPort?: number;
  dstPort?: number;
  tcpSeq?: number;
  len: number;
}

/** Offset of the transport header of an IPv4 first fragment carrying TCP/UDP, else -1. */
function ipv4TransportOffset(p: Uint8Array): number {
  if (p.length < 20 || p[0]! >> 4 !== 4) return -1;
  const ihl = (p[0]! & 0x0f) * 4;
  const fragOffset = ((p[6]! & 0x1f) << 8) | p[7]!;
  if (fragOffset !== 0 || p.length < ihl + 8) return -1;
  return ihl;
}

export function summarize(p: Uint8Array): PacketSummary {
  const len = p.length;
  let proto = -1;
  let off = -1;
  const version = len > 0 ? p[0]! >> 4 : 0;
  if (version === 4) {
    proto = p[9] ?? -1;
    off = ipv4TransportOffset(p);
  } else if (version === 6 && len >= 48) {
    // Only the common case without extension headers.
    proto = p[6]!;
    off = 40;
  }
  if (proto === IPPROTO_TCP) {
    if (off < 0 || len < off + 8) return { proto: 'tcp', len };
    return { proto: 'tcp', srcPort: readU16(p, off), dstPort: readU16(p, off + 2), tcpSeq: readU32(p, off + 4), len };
  }
  if (proto === IPPROTO_UDP) {
    if (off < 0) return { proto: 'udp', len };
    return { proto: 'udp', srcPort: readU16(p, off), dstPort: readU16(p, off + 2), len };
  }
  return { proto: 'other', len };
}

export function readU16(p: Uint8Array, o: number): number {
  return (p[o]! << 8) | p[o + 1]!;
}

export function readU32(p: Uint8Array, o: number): number {
  return ((p[o]! << 24) | (p[o + 1]! << 16) | (p[o + 2]! << 8) | p[o + 3]!) >>> 0;
}

function writeU16(p: Uint8Array, o: number, v: number): void {
  p[o] = (v >> 8) & 0xff;
  p[o + 1] = v & 0xff;
}

/** Dotted quad -> 32-bit unsigned. */
export function ipv4ToUint(addr: string): number {
  const parts = addr.split('.').map(Number);
  if (parts.length !== 4 || parts.some((x) => !Number.isInteger(x) || x < 0 || x > 255)) throw new RangeError(`not an IPv4 address: ${addr}`);
  return ((parts[0]! << 24) | (parts[1]! << 16) | (parts[2]! << 8) | parts[3]!) >>> 0;
}

export function uintToIpv4(v: number): string {
  return `${v >>> 24}.${(v >>> 16) & 0xff}.${(v >>> 8) & 0xff}.${v & 0xff}`;
}

/** One's-complement sum of 16-bit big-endian words (odd tail padded with zero), not folded/complemented. */
function onesSum(p: Uint8Array, start: number, end: number, initial = 0): number {
  let sum = initial;
  let i = start;
  for (; i + 1 < end; i += 2) sum += (p[i]! << 8) | p[i + 1]!;
  if (i < end) sum += p[i]! << 8;
  return sum;
}

function fold(sum: number): number {
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 0x10000);
  return sum;
}

/** The IPv4 header checksum as it should be (the field itself counted as zero). */
export function ipv4HeaderChecksum(p: Uint8Array): number {
  const ihl = (p[0]! & 0x0f) * 4;
  const sum = onesSum(p, 0, ihl) - readU16(p, 10);
  return ~fold(sum) & 0xffff;
}

/** The TCP or UDP checksum of an unfragmented IPv4 packet as it should be (pseudo-header included). */
export function ipv4TransportChecksum(p: Uint8Array): number {
  const ihl = (p[0]! & 0x0f) * 4;
  const total = readU16(p, 2);
  const proto = p[9]!;
  const csumAt = ihl + (proto === IPPROTO_TCP ? 16 : 6);
  let sum = onesSum(p, 12, 20); // source and destination addresses
  sum += proto + (total - ihl);
  sum = onesSum(p, ihl, total, sum) - readU16(p, csumAt);
  const c = ~fold(sum) & 0xffff;
  return proto === IPPROTO_UDP && c === 0 ? 0xffff : c;
}

/** RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m'). */
function adjust(checksum: number, oldWord: number, newWord: number): number {
  const sum = (~checksum & 0xffff) + (~oldWord & 0xffff) + newWord;
  return ~fold(sum) & 0xffff;
}

function adjustAt(p: Uint8Array, at: number, oldWord: number, newWord: number, udp: boolean): void {
  const c = readU16(p, at);
  if (udp && c === 0) return; // UDP over IPv4 without a checksum stays without one
  let n = adjust(c, oldWord, newWord);
  if (udp && n === 0) n = 0xffff;
  writeU16(p, at, n);
}

/** Offset of the TCP/UDP checksum field of an IPv4 packet, -1 when there is none to fix. */
function transportChecksumAt(p: Uint8Array): { at: number; udp: boolean } | null {
  const proto = p[9];
  if (proto !== IPPROTO_TCP && proto !== IPPROTO_UDP) return null;
  const off = ipv4TransportOffset(p);
  if (off < 0) return null;
  const at = off + (proto === IPPROTO_TCP ? 16 : 6);
  if (p.length < at + 2) return null;
  return { at, udp: proto === IPPROTO_UDP };
}

/** Rewrite the IPv4 source (which = 12) or destination (which = 16) address, fixing both checksums. */
export function rewriteIpv4Address(p: Uint8Array, which: 12 | 16, addr: number): void {
  const oldHi = readU16(p, which);
  const oldLo = readU16(p, which + 2);
  const newHi = addr >>> 16;
  const newLo = addr & 0xffff;
  writeU16(p, which, newHi);
  writeU16(p, which + 2, newLo);
  writeU16(p, 10, adjust(adjust(readU16(p, 10), oldHi, newHi), oldLo, newLo));
  const t = transportChecksumAt(p);
  if (t) {
    // The pseudo-header covers both addresses.
    adjustAt(p, t.at, oldHi, newHi, t.udp);
    adjustAt(p, t.at, oldLo, newLo, t.udp);
  }
}

/** Rewrite the TCP/UDP source (which = 0) or destination (which = 2) port of an IPv4 packet; false when it has none. */
export function rewriteIpv4Port(p: Uint8Array, which: 0 | 2, port: number): boolean {
  const t = transportChecksumAt(p);
  if (!t) return false;
  const off = ipv4TransportOffset(p);
  const old = readU16(p, off + which);
  writeU16(p, off + which, port);
  adjustAt(p, t.at, old, port, t.udp);
  return true;
}

export function ipv4Source(p: Uint8Array): number {
  return readU32(p, 12);
}

export function ipv4Destination(p: Uint8Array): number {
  return readU32(p, 16);
}

export function isIpv4(p: Uint8Array): boolean {
  return p.length >= 20 && p[0]! >> 4 === 4;
}

/** The port of a TCP/UDP IPv4 first fragment (which = 0 source, 2 destination), or -1. */
export function ipv4Port(p: Uint8Array, which: 0 | 2): number {
  if (p[9] !== IPPROTO_TCP && p[9] !== IPPROTO_UDP) return -1;
  const off = ipv4TransportOffset(p);
  return off < 0 ? -1 : readU16(p, off + which);
}

/** netem corrupt: flip one bit at a random position of the packet (bitIndex in [0, 8 * length)). */
export function flipBit(p: Uint8Array, bitIndex: number): void {
  const byte = bitIndex >>> 3;
  p[byte] = p[byte]! ^ (1 << (bitIndex & 7));
}
