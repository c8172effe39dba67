import { describe, expect, it } from 'vitest';
import {
  decodeVarint,
  decodeVarintBig,
  encodeVarint,
  MAX_VARINT,
  varintSize,
  writeVarint,
} from '../../src/h3/varint.ts';

const hex = (s: string) => Uint8Array.from(Buffer.from(s.replace(/\s/g, ''), 'hex'));
const toHex = (b: Uint8Array) => Buffer.from(b).toString('hex');

describe('varint (RFC 9000 section 16, appendix A.1 vectors)', () => {
  // RFC 9000 A.1: the four example encodings and the non-minimal two-byte 37.
  const vectors: Array<[string, bigint]> = [
    ['c2197c5eff14e88c', 151288809941952652n], // 11xxxxxx: 8 bytes
    ['9d7f3e7d', 494878333n], // 10xxxxxx: 4 bytes
    ['7bbd', 15293n], // 01xxxxxx: 2 bytes
    ['25', 37n], // 00xxxxxx: 1 byte
    ['4025', 37n], // non-minimal 2-byte encoding of 37
  ];
  it.each(vectors)('decodes %s to %s', (h, value) => {
    const bytes = hex(h);
    expect(decodeVarintBig(bytes)).toEqual({ value, size: bytes.length });
    const n = decodeVarint(bytes)!;
    expect(n.size).toBe(bytes.length);
    expect(n.value).toBe(Number(value));
  });

  it('encodes the minimal vectors byte for byte', () => {
    expect(toHex(encodeVarint(151288809941952652n))).toBe('c2197c5eff14e88c');
    expect(toHex(encodeVarint(494878333))).toBe('9d7f3e7d');
    expect(toHex(encodeVarint(15293))).toBe('7bbd');
    expect(toHex(encodeVarint(37))).toBe('25');
    const buf = new Uint8Array(2);
    expect(writeVarint(buf, 0, 37, 2)).toBe(2);
    expect(toHex(buf)).toBe('4025');
  });

  it('round-trips the edges of every length', () => {
    const edges = [0, 63, 64, 16383, 16384, 1073741823, 1073741824, Number.MAX_SAFE_INTEGER];
    const sizes = [1, 1, 2, 2, 4, 4, 8, 8];
    edges.forEach((v, i) => {
      const enc = encodeVarint(v);
      expect(enc.length).toBe(sizes[i]);
      expect(varintSize(v)).toBe(sizes[i]);
      expect(decodeVarint(enc)).toEqual({ value: v, size: enc.length });
    });
    const max = encodeVarint(MAX_VARINT);
    expect(toHex(max)).toBe('ffffffffffffffff');
    expect(decodeVarintBig(max)!.value).toBe(MAX_VARINT);
  });

  it('rejects values outside 0..2^62-1 and too-small explicit sizes', () => {
    expect(() => encodeVarint(-1)).toThrow(RangeError);
    expect(() => encodeVarint(MAX_VARINT + 1n)).toThrow(RangeError);
    expect(() => encodeVarint(1.5)).toThrow(RangeError);
    expect(() => writeVarint(new Uint8Array(8), 0, 64, 1)).toThrow(RangeError);
  });

  it('reports "need more" for every truncated prefix', () => {
    for (const h of ['c2197c5eff14e88c', '9d7f3e7d', '7bbd']) {
      const bytes = hex(h);
      for (let n = 0; n < bytes.length; n++) {
        expect(decodeVarint(bytes.subarray(0, n))).toBeUndefined();
        expect(decodeVarintBig(bytes.subarray(0, n))).toBeUndefined();
      }
    }
  });
});
