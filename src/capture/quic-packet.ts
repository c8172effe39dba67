/**
 * QUIC packets as a receiver reads them (RFC 9000 section 17, RFC 9001 section 5): the packets
 * coalesced in a datagram, header protection removed, the full packet number recovered (RFC 9000
 * appendix A.3) and the payload opened. Pure.
 */
import { readVarintAt, varintSizeFromFirstByte } from '../h3/varint.ts';
import { headerProtectionMask, openPayload, type PacketKeys } from './quic-keys.ts';

export type PacketType = 'initial' | '0rtt' | 'handshake' | 'retry' | '1rtt' | 'version-negotiation';
const LONG_TYPES: readonly PacketType[] = ['initial', '0rtt', 'handshake', 'retry'];

/** One packet of a datagram, still protected. */
export interface ProtectedPacket {
  type: PacketType;
  version?: number;
  dcid: Buffer;
  scid?: Buffer;
  /** The packet's bytes (a view into the datagram). */
  bytes: Buffer;
  /** Where the (protected) packet number starts in `bytes`; absent for Retry and Version Negotiation. */
  pnOffset?: number;
}

/** Reads a varint at `at`; undefined past the end. */
function varintAt(buf: Buffer, at: number): { value: number; next: number } | undefined {
  if (at >= buf.length) return undefined;
  const size = varintSizeFromFirstByte(buf[at]!);
  if (at + size > buf.length) return undefined;
  return { value: readVarintAt(buf, at), next: at + size };
}

/**
 * The packets coalesced in one datagram. A short header packet runs to the datagram's end and its
 * Destination Connection ID has no length field: the receiver knows the length of its own IDs.
 * Bytes after the last packet that cannot start one (padding) are left out.
 */
export function splitDatagram(datagram: Buffer, shortDcidLength: number): ProtectedPacket[] {
  const packets: ProtectedPacket[] = [];
  let at = 0;
  while (at < datagram.length) {
    const first = datagram[at]!;
    if ((first & 0x80) === 0) {
      // Without the fixed bit it is no packet: zeros a sender padded the datagram with after its last packet.
      if ((first & 0x40) === 0) break;
      const pnOffset = 1 + shortDcidLength;
      if (datagram.length - at < pnOffset + 1) break;
      packets.push({ type: '1rtt', dcid: datagram.subarray(at + 1, at + pnOffset), bytes: datagram.subarray(at), pnOffset });
      break;
    }
    if (datagram.length - at < 7) break;
    const version = datagram.readUInt32BE(at + 1);
    let p = at + 5;
    const dcid = datagram.subarray(p + 1, p + 1 + datagram[p]!);
    p += 1 + dcid.length;
    if (p >= datagram.length) break;
    const scid = datagram.subarray(p + 1, p + 1 + datagram[p]!);
    p += 1 + scid.length;
    if (version === 0) {
      packets.push({ type: 'version-negotiation', version, dcid, scid, bytes: datagram.subarray(at) });
      break;
    }
    const type = LONG_TYPES[(first >> 4) & 0x03]!;
    if (type === 'retry') {
      packets.push({ type, version, dcid, scid, bytes: datagram.subarray(at) });
      break;
    }
    if (type === 'initial') {
      const token = varintAt(datagram, p);
      if (!token) break;
      p = token.next + token.value;
    }
    const length = varintAt(datagram, p);
    if (!length || length.next + length.value > datagram.length) break;
    const end = length.next + length.value;
    packets.push({ type, version, dcid, scid, bytes: datagram.subarray(at, end), pnOffset: length.next - at });
    at = end;
  }
  return packets;
}

/** A packet's header with protection removed. */
export interface UnprotectedHeader {
  /** The first byte, unmasked. */
  first: number;
  /** The header up to and including the packet number, unmasked: the AEAD's associated data. */
  header: Buffer;
  truncatedPn: number;
  pnLength: number;
  /** Short header only: the key phase bit. */
  keyPhase?: 0 | 1;
}

/** RFC 9001 section 5.4.2: the sample starts 4 bytes after the packet number's start, whatever its length. */
const SAMPLE_OFFSET = 4;
const SAMPLE_BYTES = 16;

export function removeHeaderProtection(packet: ProtectedPacket, keys: PacketKeys): UnprotectedHeader | undefined {
  const { bytes, pnOffset } = packet;
  if (pnOffset === undefined || bytes.length < pnOffset + SAMPLE_OFFSET + SAMPLE_BYTES) return undefined;
  const mask = headerProtectionMask(keys, bytes.subarray(pnOffset + SAMPLE_OFFSET, pnOffset + SAMPLE_OFFSET + SAMPLE_BYTES));
  const long = (bytes[0]! & 0x80) !== 0;
  const first = bytes[0]! ^ (mask[0]! & (long ? 0x0f : 0x1f));
  const pnLength = (first & 0x03) + 1;
  const header = Buffer.from(bytes.subarray(0, pnOffset + pnLength));
  header[0] = first;
  let truncatedPn = 0;
  for (let i = 0; i < pnLength; i++) {
    header[pnOffset + i] = bytes[pnOffset + i]! ^ mask[1 + i]!;
    truncatedPn = truncatedPn * 256 + header[pnOffset + i]!;
  }
  return { first, header, truncatedPn, pnLength, ...(!long && { keyPhase: ((first >> 2) & 1) as 0 | 1 }) };
}

/** RFC 9000 appendix A.3: the full packet number closest to the one after the largest seen so far (-1: none yet). */
export function decodePacketNumber(largest: number, truncated: number, pnLength: number): number {
  const expected = largest + 1;
  const window = 2 ** (pnLength * 8);
  const half = window / 2;
  const candidate = expected - (expected % window) + truncated;
  if (candidate <= expected - half && candidate < 2 ** 62 - window) return candidate + window;
  if (candidate > expected + half && candidate >= window) return candidate - window;
  return candidate;
}

export interface OpenedPacket {
  packetNumber: number;
  keyPhase?: 0 | 1;
  payload: Buffer;
}

/**
 * Opens a packet whose header protection `headerKeys` removes; `payloadKeys` picks the AEAD keys
 * for the key phase read from the header (they differ after a key update). undefined when it does
 * not authenticate.
 */
export function openPacket(
  packet: ProtectedPacket,
  headerKeys: PacketKeys,
  largestPn: number,
  payloadKeys: (keyPhase: 0 | 1 | undefined) => PacketKeys = () => headerKeys,
): OpenedPacket | undefined {
  const unprotected = removeHeaderProtection(packet, headerKeys);
  if (!unprotected) return undefined;
  const packetNumber = decodePacketNumber(largestPn, unprotected.truncatedPn, unprotected.pnLength);
  const sealed = packet.bytes.subarray(unprotected.header.length);
  const payload = openPayload(payloadKeys(unprotected.keyPhase), packetNumber, unprotected.header, sealed);
  return payload && { packetNumber, keyPhase: unprotected.keyPhase, payload };
}
