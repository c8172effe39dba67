/**
 * QUIC variable-length integers (RFC 9000 section 16), as HTTP/3 uses them for frame types,
 * lengths, settings, stream types and IDs.
 *
 *   00xxxxxx                          1 byte,  6-bit value
 *   01xxxxxx xxxxxxxx                 2 bytes, 14-bit value
 *   10xxxxxx (3 more bytes)           4 bytes, 30-bit value
 *   11xxxxxx (7 more bytes)           8 bytes, 62-bit value
 *
 * The number API is exact up to Number.MAX_SAFE_INTEGER (2^53 - 1); 8-byte values above that
 * come back rounded, which is harmless where they are only compared against limits (lengths) or
 * against small known codes (frame and stream types). The bigint API is exact everywhere.
 */

export const MAX_VARINT = 2n ** 62n - 1n;
/** The largest varint the number API reads and writes exactly. */
export const MAX_VARINT_NUMBER = Number.MAX_SAFE_INTEGER;

/** Encoded size (1, 2, 4 or 8) announced by a varint's first byte. */
export function varintSizeFromFirstByte(firstByte: number): 1 | 2 | 4 | 8 {
  return (1 << (firstByte >> 6)) as 1 | 2 | 4 | 8;
}

/** Shortest encoding size for a value. Throws RangeError outside 0..2^62-1. */
export function varintSize(value: number | bigint): 1 | 2 | 4 | 8 {
  if (typeof value === 'bigint') {
    if (value < 0n || value > MAX_VARINT) throw new RangeError(`varint out of range: ${value}`);
    if (value > 0x3fffffffn) return 8;
    value = Number(value);
  } else if (!Number.isSafeInteger(value) || value < 0) {
    throw new RangeError(`varint out of range: ${value}`);
  }
  if (value <= 0x3f) return 1;
  if (value <= 0x3fff) return 2;
  if (value <= 0x3fffffff) return 4;
  return 8;
}

/**
 * Reads the varint at buf[offset]; the caller has checked that
 * offset + varintSizeFromFirstByte(buf[offset]) <= buf.length.
 */
export function readVarintAt(buf: Uint8Array, offset: number): number {
  const first = buf[offset]!;
  switch (first >> 6) {
    case 0:
      return first;
    case 1:
      return ((first & 0x3f) << 8) | buf[offset + 1]!;
    case 2:
      return (
        (first & 0x3f) * 0x1000000 + ((buf[offset + 1]! << 16) | (buf[offset + 2]! << 8) | buf[offset + 3]!)
      );
    default: {
      const hi = (first & 0x3f) * 0x1000000 + ((buf[offset + 1]! << 16) | (buf[offset + 2]! << 8) | buf[offset + 3]!);
      const lo = ((buf[offset + 4]! << 24) | (buf[offset + 5]! << 16) | (buf[offset + 6]! << 8) | buf[offset + 7]!) >>> 0;
      return hi * 0x100000000 + lo;
    }
  }
}

/** Exact bigint read of the varint at buf[offset] (same precondition as readVarintAt). */
export function readVarintBigAt(buf: Uint8Array, offset: number): bigint {
  const size = varintSizeFromFirstByte(buf[offset]!);
  let value = BigInt(buf[offset]! & 0x3f);
  for (let i = 1; i < size; i++) value = (value << 8n) | BigInt(buf[offset + i]!);
  return value;
}

/** Decodes one varint; undefined when buf ends before it does ("need more"). */
export function decodeVarint(buf: Uint8Array, offset = 0): { value: number; size: number } | undefined {
  if (offset >= buf.length) return undefined;
  const size = varintSizeFromFirstByte(buf[offset]!);
  if (offset + size > buf.length) return undefined;
  return { value: readVarintAt(buf, offset), size };
}

/** Decodes one varint exactly as a bigint; undefined when buf ends before it does. */
export function decodeVarintBig(buf: Uint8Array, offset = 0): { value: bigint; size: number } | undefined {
  if (offset >= buf.length) return undefined;
  const size = varintSizeFromFirstByte(buf[offset]!);
  if (offset + size > buf.length) return undefined;
  return { value: readVarintBigAt(buf, offset), size };
}

/** The two high bits of the first byte for each encoded size. */
const LENGTH_PREFIX = { 1: 0x00, 2: 0x40, 4: 0x80, 8: 0xc0 } as const;

/**
 * Writes value at buf[offset] in its shortest form (or in `size` bytes when given, as RFC 9000
 * allows non-minimal encodings); returns the offset after it.
 */
export function writeVarint(buf: Uint8Array, offset: number, value: number | bigint, size?: 1 | 2 | 4 | 8): number {
  const minimal = varintSize(value);
  const n = size ?? minimal;
  if (n < minimal) throw new RangeError(`varint ${value} does not fit in ${n} bytes`);
  if (offset + n > buf.length) throw new RangeError('varint does not fit in the buffer');
  if (typeof value === 'bigint' || n === 8) {
    let v = BigInt(value);
    for (let i = n - 1; i >= 1; i--) {
      buf[offset + i] = Number(v & 0xffn);
      v >>= 8n;
    }
    buf[offset] = Number(v) | LENGTH_PREFIX[n];
    return offset + n;
  }
  switch (n) {
    case 1:
      buf[offset] = value; // 00xxxxxx
      break;
    case 2:
      buf[offset] = 0x40 | (value >> 8); // 01xxxxxx
      buf[offset + 1] = value & 0xff;
      break;
    default: // 4: 10xxxxxx
      buf[offset] = 0x80 | (value >>> 24);
      buf[offset + 1] = (value >>> 16) & 0xff;
      buf[offset + 2] = (value >>> 8) & 0xff;
      buf[offset + 3] = value & 0xff;
  }
  return offset + n;
}

/** A varint as a fresh byte array (shortest form). */
export function encodeVarint(value: number | bigint): Uint8Array {
  const out = new Uint8Array(varintSize(value));
  writeVarint(out, 0, value);
  return out;
}
