import { describe, expect, it } from 'vitest';
import {
  HUFFMAN_CODES,
  HUFFMAN_CODE_LENGTHS,
  HUFFMAN_EOS,
  huffmanDecode,
  huffmanEncode,
  huffmanEncodedLength,
  QpackError,
  QPACK_DECOMPRESSION_FAILED,
} from '../../../src/h3/qpack/index.ts';
import { hex, toHex } from './hex.ts';

const encode = (text: string): Uint8Array => {
  const out: number[] = [];
  huffmanEncode(Buffer.from(text, 'latin1'), out);
  return Uint8Array.from(out);
};
const decode = (bytes: Uint8Array): string => Buffer.from(huffmanDecode(bytes)).toString('latin1');

// RFC 7541 Appendix C.4 and C.6: every Huffman-coded string literal of the examples.
const RFC7541_VECTORS: Array<[string, string]> = [
  ['www.example.com', 'f1e3 c2e5 f23a 6ba0 ab90 f4ff'],
  ['no-cache', 'a8eb 1064 9cbf'],
  ['custom-key', '25a8 49e9 5ba9 7d7f'],
  ['custom-value', '25a8 49e9 5bb8 e8b4 bf'],
  ['302', '6402'],
  ['307', '640e ff'],
  ['private', 'aec3 771a 4b'],
  ['Mon, 21 Oct 2013 20:13:21 GMT', 'd07a be94 1054 d444 a820 0595 040b 8166 e082 a62d 1bff'],
  ['Mon, 21 Oct 2013 20:13:22 GMT', 'd07a be94 1054 d444 a820 0595 040b 8166 e084 a62d 1bff'],
  ['https://www.example.com', '9d29 ad17 1863 c78f 0b97 c8e9 ae82 ae43 d3'],
  ['gzip', '9bd9 ab'],
  [
    'foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1',
    '94e7 821d d7f2 e6c7 b335 dfdf cd5b 3960 d5af 2708 7f36 72c1 ab27 0fb5 291f 9587 3160 65c0 03ed 4ee5 b106 3d50 07',
  ],
];

describe('Huffman code (RFC 7541 Appendix B)', () => {
  it('has the codes of the appendix for a sample of symbols across all lengths', () => {
    // [symbol, code, bits] rows copied from RFC 7541 Appendix B.
    const rows: Array<[number, number, number]> = [
      [0, 0x1ff8, 13], [1, 0x7fffd8, 23], [9, 0xffffea, 24], [10, 0x3ffffffc, 30], [32, 0x14, 6],
      [48, 0x0, 5], [97, 0x3, 5], [116, 0x9, 5], [60, 0x7ffc, 15], [92, 0x7fff0, 19],
      [128, 0xfffe6, 20], [199, 0x1ffffec, 25], [200, 0x3ffffe2, 26], [255, 0x3ffffee, 26], [HUFFMAN_EOS, 0x3fffffff, 30],
    ];
    for (const [symbol, code, bits] of rows) {
      expect([HUFFMAN_CODES[symbol], HUFFMAN_CODE_LENGTHS[symbol]], `symbol ${symbol}`).toEqual([code, bits]);
    }
  });

  it('is a complete prefix code (Kraft sum exactly 1)', () => {
    const sum = HUFFMAN_CODE_LENGTHS.reduce((acc, bits) => acc + 2 ** -bits, 0);
    expect(sum).toBe(1);
  });

  it.each(RFC7541_VECTORS)('encodes and decodes %j as in RFC 7541 Appendix C', (text, encoded) => {
    expect(toHex(encode(text))).toBe(toHex(hex(encoded)));
    expect(huffmanEncodedLength(Buffer.from(text, 'latin1'))).toBe(hex(encoded).length);
    expect(decode(hex(encoded))).toBe(text);
  });

  it('round-trips every octet value, alone and in sequence', () => {
    for (let symbol = 0; symbol < 256; symbol++) {
      const bytes = Uint8Array.of(symbol, symbol, 255 - symbol);
      const out: number[] = [];
      huffmanEncode(bytes, out);
      expect(Array.from(huffmanDecode(Uint8Array.from(out)))).toEqual(Array.from(bytes));
    }
    const all = Uint8Array.from({ length: 256 }, (_, i) => i);
    const out: number[] = [];
    huffmanEncode(all, out);
    expect(out.length).toBe(huffmanEncodedLength(all));
    expect(Array.from(huffmanDecode(Uint8Array.from(out)))).toEqual(Array.from(all));
  });

  it('decodes the empty string', () => {
    expect(decode(new Uint8Array(0))).toBe('');
  });

  const rejects = (bytes: Uint8Array, message: RegExp) => {
    let caught: unknown;
    try {
      huffmanDecode(bytes);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(QpackError);
    expect((caught as QpackError).code).toBe(QPACK_DECOMPRESSION_FAILED);
    expect((caught as QpackError).message).toMatch(message);
  };

  it('rejects an encoded EOS', () => {
    // 30 one bits (EOS) followed by two padding ones.
    rejects(hex('ffff ffff'), /EOS/);
    // 'a' (00011) then EOS then padding.
    rejects(hex('1fff ffff ff'), /EOS/);
  });

  it('rejects padding longer than 7 bits', () => {
    // '0' (00000) then 11 one bits: 8+ bits of padding.
    rejects(hex('07ff'), /longer than 7/);
    rejects(hex('ff'), /longer than 7/);
  });

  it('rejects padding that is not all ones', () => {
    // 'a' = 00011, then padding 000.
    rejects(hex('18'), /not all ones/);
    // 'www.example.com' with the last padding bit cleared.
    rejects(hex('f1e3 c2e5 f23a 6ba0 ab90 f4fe'), /not all ones/);
  });
});
