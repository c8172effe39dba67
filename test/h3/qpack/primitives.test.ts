import { describe, expect, it } from 'vitest';
import {
  decodeRequiredInsertCount,
  encodeRequiredInsertCount,
  Incomplete,
  QpackError,
  QPACK_DECOMPRESSION_FAILED,
  QPACK_ENCODER_STREAM_ERROR,
  Reader,
  readStringLiteral,
  STATIC_TABLE,
  staticExactIndex,
  staticNameIndex,
  writeInteger,
  writeStringLiteral,
} from '../../../src/h3/qpack/index.ts';
import { hex, toHex } from './hex.ts';

const encodeInt = (value: number, prefix: number, bits = 0) => {
  const out: number[] = [];
  writeInteger(out, value, prefix, bits);
  return Uint8Array.from(out);
};

describe('prefixed integers (RFC 7541 Section 5.1)', () => {
  it('encodes the RFC 7541 Appendix C.1 examples', () => {
    expect(toHex(encodeInt(10, 5))).toBe('0a'); // C.1.1
    expect(toHex(encodeInt(1337, 5))).toBe('1f9a0a'); // C.1.2
    expect(toHex(encodeInt(42, 8))).toBe('2a'); // C.1.3
    expect(toHex(encodeInt(31, 5, 0xe0))).toBe('ff00'); // prefix full: a zero continuation byte
  });

  it('decodes them, ignoring the pattern bits above the prefix', () => {
    expect(new Reader(hex('ea'), QPACK_DECOMPRESSION_FAILED).integer(5)).toBe(10);
    expect(new Reader(hex('ff9a0a'), QPACK_DECOMPRESSION_FAILED).integer(5)).toBe(1337);
    expect(new Reader(hex('2a'), QPACK_DECOMPRESSION_FAILED).integer(8)).toBe(42);
  });

  it('round-trips values up to 2^53 - 1 for every prefix length', () => {
    for (let prefix = 1; prefix <= 8; prefix++) {
      for (const value of [0, 1, 2 ** prefix - 2, 2 ** prefix - 1, 2 ** prefix, 127, 128, 16383, 2 ** 31, 2 ** 32 + 5, Number.MAX_SAFE_INTEGER]) {
        const reader = new Reader(encodeInt(value, prefix), QPACK_DECOMPRESSION_FAILED);
        expect(reader.integer(prefix)).toBe(value);
        expect(reader.remaining).toBe(0);
      }
    }
  });

  it('reports a truncated integer as incomplete', () => {
    expect(() => new Reader(hex('1f9a'), QPACK_DECOMPRESSION_FAILED).integer(5)).toThrow(Incomplete);
    expect(() => new Reader(hex(''), QPACK_DECOMPRESSION_FAILED).integer(5)).toThrow(Incomplete);
  });

  it('rejects integers beyond 2^53 - 1 and endless zero continuations with the reader code', () => {
    const tooBig = new Reader(hex('1f ffffffffffffffff7f'), QPACK_ENCODER_STREAM_ERROR);
    expect(() => tooBig.integer(5)).toThrow(QpackError);
    try {
      new Reader(hex('1f 80808080808080808080 01'), QPACK_ENCODER_STREAM_ERROR).integer(5);
      expect.unreachable();
    } catch (error) {
      expect((error as QpackError).code).toBe(QPACK_ENCODER_STREAM_ERROR);
    }
    expect(() => new Reader(hex('ff 80 01'), QPACK_DECOMPRESSION_FAILED).integer(8, 200)).toThrow(/exceeds 200/);
  });
});

describe('string literals (RFC 9204 Section 4.1.2)', () => {
  it('uses Huffman only when shorter and reads both forms back', () => {
    const write = (text: string) => {
      const out: number[] = [];
      writeStringLiteral(out, Buffer.from(text, 'latin1'), 7, 0);
      return Uint8Array.from(out);
    };
    // RFC 7541 C.4.1: "www.example.com" is 12 octets in Huffman, 15 raw.
    expect(toHex(write('www.example.com'))).toBe('8cf1e3c2e5f23a6ba0ab90f4ff');
    // A byte with a 28-bit code is longer in Huffman: sent raw.
    expect(toHex(write('\x01'))).toBe('0101');
    for (const bytes of [write('www.example.com'), write('\x01'), write('')]) {
      const reader = new Reader(bytes, QPACK_DECOMPRESSION_FAILED);
      readStringLiteral(reader, 7, 100);
      expect(reader.remaining).toBe(0);
    }
  });

  it('rejects a string longer than the caller allows before waiting for its bytes', () => {
    expect(() => readStringLiteral(new Reader(hex('7f 80 7f'), QPACK_ENCODER_STREAM_ERROR), 7, 4096)).toThrow(/exceeds the limit/);
    expect(() => readStringLiteral(new Reader(hex('0a 41'), QPACK_ENCODER_STREAM_ERROR), 7, 4096)).toThrow(Incomplete);
  });
});

describe('static table (RFC 9204 Appendix A)', () => {
  it('has 99 entries with the appendix first, last and sampled rows', () => {
    expect(STATIC_TABLE).toHaveLength(99);
    expect(STATIC_TABLE[0]).toEqual([':authority', '']);
    expect(STATIC_TABLE[17]).toEqual([':method', 'GET']);
    expect(STATIC_TABLE[25]).toEqual([':status', '200']);
    expect(STATIC_TABLE[62]).toEqual(['x-xss-protection', '1; mode=block']);
    expect(STATIC_TABLE[85]).toEqual(['content-security-policy', "script-src 'none'; object-src 'none'; base-uri 'none'"]);
    expect(STATIC_TABLE[98]).toEqual(['x-frame-options', 'sameorigin']);
  });

  it('finds exact and name-only matches', () => {
    expect(staticExactIndex(':method', 'GET')).toBe(17);
    expect(staticExactIndex(':status', '425')).toBe(70);
    expect(staticExactIndex(':method', 'PATCH')).toBe(-1);
    expect(staticNameIndex(':status')).toBe(24);
    expect(staticNameIndex('x-unknown')).toBe(-1);
  });
});

describe('Required Insert Count encoding (RFC 9204 Section 4.5.1.1)', () => {
  it('wraps modulo 2 * MaxEntries and decodes back around the wrap', () => {
    const capacity = 220; // MaxEntries 6, FullRange 12
    for (let totalInserts = 0; totalInserts < 60; totalInserts++) {
      // A section may need up to MaxEntries inserts the decoder lacks, and can only reference
      // entries still in the table (at most MaxEntries of them).
      for (let required = Math.max(1, totalInserts - 5); required <= totalInserts + 6; required++) {
        const encoded = encodeRequiredInsertCount(required, capacity);
        expect(encoded).toBeLessThanOrEqual(12);
        expect(decodeRequiredInsertCount(encoded, capacity, totalInserts)).toBe(required);
      }
    }
    expect(encodeRequiredInsertCount(0, capacity)).toBe(0);
  });

  it('rejects encodings no encoder can produce', () => {
    expect(() => decodeRequiredInsertCount(13, 220, 0)).toThrow(QpackError); // > FullRange
    expect(() => decodeRequiredInsertCount(1, 0, 0)).toThrow(QpackError); // no dynamic table at all
    expect(() => decodeRequiredInsertCount(1, 220, 0)).toThrow(QpackError); // decodes to 0
    expect(() => decodeRequiredInsertCount(12, 220, 1)).toThrow(QpackError); // would be 11 > MaxValue 7, and <= FullRange
  });
});
