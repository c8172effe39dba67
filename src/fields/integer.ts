/**
 * Prefixed integers (RFC 7541 Section 5.1), shared by HPACK (src/h2/hpack.ts) and QPACK
 * (src/h3/qpack/, RFC 9204 Section 4.1.1). Pure: malformed input goes to the caller's `fail`.
 */
import type { FieldCodingFail } from './huffman.ts';

/** Largest integer a prefixed integer may carry: beyond this JS numbers lose precision. */
export const MAX_PREFIXED_INTEGER = Number.MAX_SAFE_INTEGER;

/** readInteger's answer when the input ends inside the integer (a stream parser waits for more). */
export const INTEGER_INCOMPLETE = -1;

/** Where a reader is: `bytes[pos..end)` is unread. readInteger moves `pos` past what it read. */
export interface FieldCursor {
  readonly bytes: Uint8Array;
  pos: number;
  readonly end: number;
}

/**
 * Reads a prefixed integer at `cursor.pos`: the prefix is the low `prefixBits` bits of the first
 * byte (the bits above belong to the caller). INTEGER_INCOMPLETE (pos unchanged) when the input
 * ends inside it; `fail` for a value above `max` or more than 8 continuation bytes.
 */
export function readInteger(cursor: FieldCursor, prefixBits: number, fail: FieldCodingFail, max = MAX_PREFIXED_INTEGER): number {
  const { bytes, end } = cursor;
  let pos = cursor.pos;
  if (pos >= end) return INTEGER_INCOMPLETE;
  const prefixMax = (1 << prefixBits) - 1;
  let value = bytes[pos++]! & prefixMax;
  if (value < prefixMax) {
    cursor.pos = pos;
    return value;
  }
  let scale = 1;
  for (;;) {
    if (pos >= end) return INTEGER_INCOMPLETE;
    const byte = bytes[pos++]!;
    value += (byte & 0x7f) * scale;
    if (value > max) fail(`integer exceeds ${max}`);
    if ((byte & 0x80) === 0) {
      cursor.pos = pos;
      return value;
    }
    scale *= 128;
    // Zero continuation bytes could otherwise pad an integer forever.
    if (scale > 2 ** 56) fail('integer encoding too long');
  }
}

/**
 * Appends a prefixed integer. `firstByteBits` are the instruction's pattern bits above the
 * prefix, already positioned (e.g. 0x80 for `1xxxxxxx`).
 */
export function writeInteger(out: number[], value: number, prefixBits: number, firstByteBits: number): void {
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`cannot encode integer ${value}`);
  const prefixMax = (1 << prefixBits) - 1;
  if (value < prefixMax) {
    out.push(firstByteBits | value);
    return;
  }
  out.push(firstByteBits | prefixMax);
  let rest = value - prefixMax;
  while (rest >= 128) {
    out.push((rest % 128) | 0x80);
    rest = Math.floor(rest / 128);
  }
  out.push(rest);
}
