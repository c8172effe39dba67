import { huffmanDecode, huffmanEncode, huffmanEncodedLength } from './huffman.ts';
import { writeInteger } from '../../fields/integer.ts';
import type { Reader } from './reader.ts';

/*
 * Field names and values are octet strings on the wire. They are carried in JS strings one
 * octet per character (latin1), as Node's own HTTP modules do, so any octets round-trip.
 */

export function bytesToString(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
}

export function stringToBytes(text: string): Uint8Array {
  for (let i = 0; i < text.length; i++) {
    if (text.charCodeAt(i) > 0xff) {
      throw new TypeError(`field text has a character outside latin1 at ${i}: encode it first (e.g. as UTF-8 octets)`);
    }
  }
  return Buffer.from(text, 'latin1');
}

/**
 * Reads a string literal (RFC 9204 Section 4.1.2): a Huffman flag bit just above a prefixed
 * length, then the octets. `maxLength` bounds the decoded length so that bad input cannot make
 * the reader allocate or wait for more than the caller accepts.
 */
export function readStringLiteral(
  reader: Reader,
  prefixBits: number,
  maxLength: number,
  /** Called instead of failing the stream when a well-formed string is merely too long (field sections: 431, not a connection error). */
  onTooLong?: () => never,
): Uint8Array {
  const tooLong = (octets: number): never => {
    if (onTooLong) onTooLong();
    return reader.fail(`string of ${octets} octets exceeds the limit of ${maxLength}`);
  };
  const huffman = (reader.peek() & (1 << prefixBits)) !== 0;
  const length = reader.integer(prefixBits);
  // A Huffman string decodes to at least 8/30 of its length: reject early what cannot fit.
  const minDecoded = huffman ? Math.floor((length * 8) / 30) : length;
  if (minDecoded > maxLength) tooLong(length);
  const raw = reader.take(length);
  if (!huffman) return raw;
  const decoded = huffmanDecode(raw, reader.errorCode);
  if (decoded.length > maxLength) tooLong(decoded.length);
  return decoded;
}

export type HuffmanPolicy = 'shorter' | 'never';

/**
 * Appends a string literal. `firstByteBits` are the instruction bits above the Huffman flag;
 * the flag sits at bit `prefixBits`. Huffman is used when it is strictly shorter.
 */
export function writeStringLiteral(
  out: number[],
  bytes: Uint8Array,
  prefixBits: number,
  firstByteBits: number,
  policy: HuffmanPolicy = 'shorter',
): void {
  const huffmanLength = policy === 'never' ? Infinity : huffmanEncodedLength(bytes);
  if (huffmanLength < bytes.length) {
    writeInteger(out, huffmanLength, prefixBits, firstByteBits | (1 << prefixBits));
    huffmanEncode(bytes, out);
  } else {
    writeInteger(out, bytes.length, prefixBits, firstByteBits);
    for (let i = 0; i < bytes.length; i++) out.push(bytes[i]!);
  }
}
