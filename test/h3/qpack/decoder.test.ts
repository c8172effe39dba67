import { describe, expect, it } from 'vitest';
import {
  FieldSectionTooLargeError,
  QpackDecoder,
  QpackError,
  QPACK_DECOMPRESSION_FAILED,
  QPACK_ENCODER_STREAM_ERROR,
  type DecodeResult,
} from '../../../src/h3/qpack/index.ts';
import { hex, toHex } from './hex.ts';

// RFC 9204 Appendix B, byte for byte.
const B1_SECTION = hex('0000 510b 2f69 6e64 6578 2e68 746d 6c');
const B2_ENCODER = hex('3fbd01 c00f 7777 772e 6578 616d 706c 652e 636f 6d c10c 2f73 616d 706c 652f 7061 7468');
const B2_SECTION = hex('0381 10 11');
const B3_ENCODER = hex('4a63 7573 746f 6d2d 6b65 790c 6375 7374 6f6d 2d76 616c 7565');
const B4_ENCODER = hex('02');
const B4_SECTION = hex('0500 80 c1 81');
const B5_ENCODER = hex('810d 6375 7374 6f6d 2d76 616c 7565 32');

const B2_HEADERS = [[':authority', 'www.example.com'], [':path', '/sample/path']];
const B4_HEADERS = [[':authority', 'www.example.com'], [':path', '/'], ['custom-key', 'custom-value']];

const newDecoder = (maxBlockedStreams = 100) => new QpackDecoder({ maxTableCapacity: 220, maxBlockedStreams });

function headersOf(result: DecodeResult) {
  if (result.status !== 'done') throw new Error(`expected a decoded section, got ${result.status}`);
  return result.headers;
}

function qpackErrorOf(action: () => unknown): QpackError {
  try {
    action();
  } catch (error) {
    if (error instanceof QpackError) return error;
    throw error;
  }
  throw new Error('expected a QpackError');
}

/** The decoder after B.1 - B.3 of the appendix, decoder-stream output drained. */
function throughB3(): QpackDecoder {
  const decoder = newDecoder();
  decoder.decodeFieldSection(0, B1_SECTION);
  decoder.onEncoderStreamData(B2_ENCODER);
  decoder.decodeFieldSection(4, B2_SECTION);
  decoder.onEncoderStreamData(B3_ENCODER);
  decoder.takeDecoderStreamData();
  return decoder;
}

describe('QpackDecoder: RFC 9204 Appendix B', () => {
  it('B.1 literal field line with static name reference, nothing on the decoder stream', () => {
    const decoder = newDecoder();
    expect(headersOf(decoder.decodeFieldSection(0, B1_SECTION))).toEqual([[':path', '/index.html']]);
    expect(toHex(decoder.takeDecoderStreamData())).toBe('');
  });

  it('B.2 capacity, two inserts, post-base references, then Section Acknowledgment 84', () => {
    const decoder = newDecoder();
    expect(decoder.onEncoderStreamData(B2_ENCODER)).toEqual([]);
    expect(decoder.tableState).toEqual({ size: 106, capacity: 220, entries: 2 });
    expect(headersOf(decoder.decodeFieldSection(4, B2_SECTION))).toEqual(B2_HEADERS);
    expect(toHex(decoder.takeDecoderStreamData())).toBe('84');
  });

  it('B.3 speculative insert, then Insert Count Increment 01', () => {
    const decoder = newDecoder();
    decoder.onEncoderStreamData(B2_ENCODER);
    decoder.decodeFieldSection(4, B2_SECTION);
    expect(toHex(decoder.takeDecoderStreamData())).toBe('84');
    decoder.onEncoderStreamData(B3_ENCODER);
    expect(decoder.tableState).toEqual({ size: 160, capacity: 220, entries: 3 });
    expect(toHex(decoder.takeDecoderStreamData())).toBe('01');
  });

  it('B.4 the section of stream 8 waits for the duplicate; the stream is reset: Stream Cancellation 48', () => {
    const decoder = throughB3();
    expect(decoder.decodeFieldSection(8, B4_SECTION)).toEqual({ status: 'blocked', requiredInsertCount: 4 });
    expect(decoder.blockedStreamCount).toBe(1);
    decoder.cancelStream(8);
    expect(decoder.blockedStreamCount).toBe(0);
    expect(toHex(decoder.takeDecoderStreamData())).toBe('48');
    // The duplicate arrives: nothing is waiting for it any more; it is announced by an increment.
    expect(decoder.onEncoderStreamData(B4_ENCODER)).toEqual([]);
    expect(decoder.tableState).toEqual({ size: 217, capacity: 220, entries: 4 });
    expect(toHex(decoder.takeDecoderStreamData())).toBe('01');
  });

  it('B.4 duplicate then section (relative and static indices), acknowledged 88', () => {
    const decoder = throughB3();
    decoder.onEncoderStreamData(B4_ENCODER);
    expect(headersOf(decoder.decodeFieldSection(8, B4_SECTION))).toEqual(B4_HEADERS);
    // The acknowledgment covers the duplicate, so no increment follows it.
    expect(toHex(decoder.takeDecoderStreamData())).toBe('88');
  });

  it('B.4 blocked section is released by the duplicate and decoded by retryBlocked', () => {
    const decoder = throughB3();
    expect(decoder.decodeFieldSection(8, B4_SECTION).status).toBe('blocked');
    expect(decoder.onEncoderStreamData(B4_ENCODER)).toEqual([8]);
    expect(decoder.blockedStreamCount).toBe(0);
    expect(headersOf(decoder.retryBlocked(8))).toEqual(B4_HEADERS);
    expect(toHex(decoder.takeDecoderStreamData())).toBe('88');
  });

  it('B.5 insert with dynamic name reference evicts the oldest entry', () => {
    const decoder = throughB3();
    decoder.onEncoderStreamData(B4_ENCODER);
    decoder.decodeFieldSection(8, B4_SECTION);
    decoder.takeDecoderStreamData();
    decoder.onEncoderStreamData(B5_ENCODER);
    expect(decoder.tableState).toEqual({ size: 215, capacity: 220, entries: 4 });
    expect(toHex(decoder.takeDecoderStreamData())).toBe('01');
    // Required Insert Count 5 (encoded 6), Base 5: relative 0 is the new entry, relative 4 the evicted one.
    expect(headersOf(decoder.decodeFieldSection(12, hex('0600 80')))).toEqual([['custom-key', 'custom-value2']]);
    expect(qpackErrorOf(() => decoder.decodeFieldSection(16, hex('0600 84'))).message).toMatch(/evicted/);
  });
});

describe('QpackDecoder: encoder stream', () => {
  const ALL = new Uint8Array([...B2_ENCODER, ...B3_ENCODER, ...B4_ENCODER, ...B5_ENCODER]);

  it('gives the same table for any split of the instructions', () => {
    const whole = newDecoder();
    whole.onEncoderStreamData(ALL);
    for (const step of [1, 2, 3, 5, 7, 11]) {
      const decoder = newDecoder();
      for (let i = 0; i < ALL.length; i += step) decoder.onEncoderStreamData(ALL.subarray(i, i + step));
      expect(decoder.tableState).toEqual(whole.tableState);
      expect(decoder.insertCount).toBe(5);
      expect(decoder.bufferedEncoderBytes).toBe(0);
      expect(headersOf(decoder.decodeFieldSection(12, hex('0600 80 81 82 83')))).toEqual(headersOf(whole.decodeFieldSection(12, hex('0600 80 81 82 83'))));
    }
  });

  it('does not apply a partial instruction and does not keep the caller buffer', () => {
    const decoder = newDecoder();
    const chunk = Uint8Array.from(B2_ENCODER.subarray(0, 10));
    decoder.onEncoderStreamData(chunk);
    expect(decoder.insertCount).toBe(0);
    chunk.fill(0);
    decoder.onEncoderStreamData(B2_ENCODER.subarray(10));
    expect(decoder.insertCount).toBe(2);
    expect(headersOf(decoder.decodeFieldSection(4, B2_SECTION))).toEqual(B2_HEADERS);
  });

  const encoderStreamErrors: Array<[string, string, RegExp]> = [
    ['capacity above our maximum', '3fbe01', /exceeds our maximum/],
    ['insert before any capacity is set', 'c00f 7777 772e 6578 616d 706c 652e 636f 6d', /exceeds/],
    ['entry larger than the capacity', '3f01 c00f 7777 772e 6578 616d 706c 652e 636f 6d', /exceeds/],
    ['static name index 99', '3fbd01 ff24 00', /static table has no index 99/],
    ['dynamic name reference to nothing', '3fbd01 8000', /names no entry/],
    ['duplicate of nothing', '3fbd01 00', /names no entry/],
    ['bad Huffman in a value', '3fbd01 c181 00', /padding/],
    ['Insert With Name Reference with an index of 2^35 (interop errors/err12)', 'ff80 ffff ffff 01', /no index/],
  ];
  it.each(encoderStreamErrors)('rejects %s with QPACK_ENCODER_STREAM_ERROR', (_what, bytes, message) => {
    const error = qpackErrorOf(() => newDecoder().onEncoderStreamData(hex(bytes)));
    expect(error.code).toBe(QPACK_ENCODER_STREAM_ERROR);
    expect(error.message).toMatch(message);
  });

  it('bounds what it buffers for an instruction by the table capacity', () => {
    const decoder = newDecoder();
    // Insert With Literal Name announcing a 1000-octet name: more than a 220-byte table can hold.
    expect(qpackErrorOf(() => decoder.onEncoderStreamData(hex('3fbd01 5f c907'))).code).toBe(QPACK_ENCODER_STREAM_ERROR);
  });
});

describe('QpackDecoder: field sections', () => {
  const sectionErrors: Array<[string, string, RegExp]> = [
    ['truncated prefix', '00', /truncated/],
    ['truncated literal', '0000 510b 2f69', /truncated/],
    ['negative Base (interop errors/err4)', '0081', /negative Base/],
    ['dynamic reference with Required Insert Count 0', '0000 80', /outside Required Insert Count/],
    ['static index 99', '0000 ff24', /no index 99/],
    ['Required Insert Count above FullRange', '0d00', /Required Insert Count/],
    ['post-base reference at or beyond Required Insert Count', '0300 11', /outside Required Insert Count/],
    ['bad Huffman in a value', '0000 5181 00', /padding/],
  ];
  it.each(sectionErrors)('rejects %s with QPACK_DECOMPRESSION_FAILED', (_what, bytes, message) => {
    const decoder = newDecoder();
    decoder.onEncoderStreamData(B2_ENCODER);
    const error = qpackErrorOf(() => decoder.decodeFieldSection(4, hex(bytes)));
    expect(error.code).toBe(QPACK_DECOMPRESSION_FAILED);
    expect(error.message).toMatch(message);
  });

  it('reads every representation, and reports the never-index bit', () => {
    const decoder = newDecoder();
    decoder.onEncoderStreamData(B2_ENCODER);
    // RIC 2 (encoded 3), Base 1 (sign 1, delta 0):
    //   80      indexed, relative 0 -> abs 0
    //   10      indexed post-base 0 -> abs 1
    //   7f00 01 78  literal, N=1, static name ref 15+0 -> :method, value "x"
    //   60 01 78    literal, N=0, dynamic name ref relative 0 -> :authority
    //   08 01 79    literal, N=1, post-base name ref 0 -> :path, value "y"
    //   32 6162 01 7a  literal with literal name, N=1, "ab": "z"
    const result = decoder.decodeFieldSection(4, hex('0380 80 10 7f00 0178 4001 78 0801 79 3261 6201 7a'));
    expect(result).toEqual({
      status: 'done',
      headers: [[':authority', 'www.example.com'], [':path', '/sample/path'], [':method', 'x'], [':authority', 'x'], [':path', 'y'], ['ab', 'z']],
      neverIndexed: [2, 4, 5],
    });
  });

  it('counts blocked streams against maxBlockedStreams', () => {
    const decoder = new QpackDecoder({ maxTableCapacity: 220, maxBlockedStreams: 1 });
    expect(decoder.decodeFieldSection(4, B2_SECTION).status).toBe('blocked');
    const error = qpackErrorOf(() => decoder.decodeFieldSection(8, B2_SECTION));
    expect(error.code).toBe(QPACK_DECOMPRESSION_FAILED);
    expect(error.message).toMatch(/blocked streams/);
    expect(qpackErrorOf(() => new QpackDecoder({ maxTableCapacity: 220, maxBlockedStreams: 0 }).decodeFieldSection(4, B2_SECTION)).code).toBe(
      QPACK_DECOMPRESSION_FAILED,
    );
  });

  it('releases only the streams whose Required Insert Count is reached', () => {
    const decoder = newDecoder();
    expect(decoder.decodeFieldSection(8, B4_SECTION).status).toBe('blocked'); // needs 4
    expect(decoder.decodeFieldSection(4, B2_SECTION).status).toBe('blocked'); // needs 2
    expect(decoder.onEncoderStreamData(B2_ENCODER)).toEqual([4]);
    expect(decoder.retryBlocked(8)).toEqual({ status: 'blocked', requiredInsertCount: 4 });
    expect(headersOf(decoder.retryBlocked(4))).toEqual(B2_HEADERS);
    expect(decoder.onEncoderStreamData(B3_ENCODER)).toEqual([]);
    expect(decoder.onEncoderStreamData(B4_ENCODER)).toEqual([8]);
    expect(headersOf(decoder.retryBlocked(8))).toEqual(B4_HEADERS);
    expect(toHex(decoder.takeDecoderStreamData())).toBe('8488');
  });

  it('refuses a section larger than maxFieldSectionSize but still acknowledges it', () => {
    const decoder = new QpackDecoder({ maxTableCapacity: 220, maxBlockedStreams: 0, maxFieldSectionSize: 100 });
    decoder.onEncoderStreamData(B2_ENCODER);
    // Two entries of 57 and 49 bytes: 106 > 100.
    expect(() => decoder.decodeFieldSection(4, B2_SECTION)).toThrow(FieldSectionTooLargeError);
    expect(toHex(decoder.takeDecoderStreamData())).toBe('84');
    expect(headersOf(decoder.decodeFieldSection(8, hex('0381 10')))).toEqual([B2_HEADERS[0]]);
  });

  it('with table capacity 0 sends no Stream Cancellation', () => {
    const decoder = new QpackDecoder({ maxTableCapacity: 0, maxBlockedStreams: 0 });
    decoder.cancelStream(4);
    expect(decoder.takeDecoderStreamData()).toHaveLength(0);
  });
});
