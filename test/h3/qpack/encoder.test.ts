import { describe, expect, it } from 'vitest';
import {
  QpackDecoder,
  QpackEncoder,
  QpackError,
  QPACK_DECODER_STREAM_ERROR,
  type HeaderList,
} from '../../../src/h3/qpack/index.ts';
import { hex, toHex } from './hex.ts';
import { roundTrip } from './pipe.ts';

function qpackErrorOf(action: () => unknown): QpackError {
  try {
    action();
  } catch (error) {
    if (error instanceof QpackError) return error;
    throw error;
  }
  throw new Error('expected a QpackError');
}

const examplesEncoder = () => {
  // The RFC 9204 Appendix B setting: a 220-byte table, strings without Huffman.
  const encoder = new QpackEncoder({ maxTableCapacity: 220, huffman: 'never' });
  encoder.applyPeerSettings({ maxTableCapacity: 220, maxBlockedStreams: 100 });
  return encoder;
};

describe('QpackEncoder: RFC 9204 Appendix B', () => {
  it('B.1 static name reference with a literal value', () => {
    const encoder = new QpackEncoder({ maxTableCapacity: 220, huffman: 'never' });
    expect(toHex(encoder.encodeFieldSection(0, [[':path', '/index.html']]))).toBe(toHex(hex('0000 510b 2f69 6e64 6578 2e68 746d 6c')));
    expect(encoder.takeEncoderStreamData()).toHaveLength(0);
  });

  it('B.2 capacity and the two inserts are the appendix bytes; the section references them', () => {
    const encoder = examplesEncoder();
    const section = encoder.encodeFieldSection(4, [[':authority', 'www.example.com'], [':path', '/sample/path']]);
    const encoderStream = encoder.takeEncoderStreamData();
    expect(toHex(encoderStream)).toBe(toHex(hex('3fbd01 c00f 7777 772e 6578 616d 706c 652e 636f 6d c10c 2f73 616d 706c 652f 7061 7468')));
    // Required Insert Count 2 (encoded 3), Base 2: relative indices 1 and 0 (the appendix uses Base 0 and post-base indices).
    expect(toHex(section)).toBe('03008180');
    expect(encoder.blockingStreamCount).toBe(1);
    const decoder = new QpackDecoder({ maxTableCapacity: 220, maxBlockedStreams: 100 });
    decoder.onEncoderStreamData(encoderStream);
    expect(decoder.decodeFieldSection(4, section)).toMatchObject({ headers: [[':authority', 'www.example.com'], [':path', '/sample/path']] });
    encoder.onDecoderStreamData(hex('84')); // B.2 decoder stream
    expect(encoder.knownReceived).toBe(2);
    expect(encoder.blockingStreamCount).toBe(0);
  });

  it('B.3 a literal-name insert is the appendix bytes; Insert Count Increment 01 acknowledges it', () => {
    const encoder = examplesEncoder();
    encoder.encodeFieldSection(4, [[':authority', 'www.example.com'], [':path', '/sample/path']]);
    encoder.onDecoderStreamData(hex('84'));
    encoder.takeEncoderStreamData();
    encoder.encodeFieldSection(8, [['custom-key', 'custom-value']]);
    expect(toHex(encoder.takeEncoderStreamData())).toBe(toHex(hex('4a63 7573 746f 6d2d 6b65 790c 6375 7374 6f6d 2d76 616c 7565')));
    // Stream 8 referenced the new entry; the decoder cancels the stream (B.4's 48) before acknowledging.
    encoder.onDecoderStreamData(hex('48'));
    expect(encoder.blockingStreamCount).toBe(0);
    encoder.onDecoderStreamData(hex('01'));
    expect(encoder.knownReceived).toBe(3);
  });
});

describe('QpackEncoder: table use', () => {
  const request = (path: string): HeaderList => [
    [':method', 'GET'],
    [':scheme', 'https'],
    [':authority', 'bench.example'],
    [':path', path],
    ['user-agent', 'bench/0.1'],
    ['accept', '*/*'],
  ];

  it('uses only the static table and literals before the peer SETTINGS and with capacity 0', () => {
    for (const encoder of [new QpackEncoder(), new QpackEncoder({ maxTableCapacity: 0 })]) {
      const section = encoder.encodeFieldSection(0, request('/a'));
      expect(section[0]).toBe(0); // Required Insert Count 0
      expect(encoder.takeEncoderStreamData()).toHaveLength(0);
    }
    const zero = new QpackEncoder({ maxTableCapacity: 0 });
    zero.applyPeerSettings({ maxTableCapacity: 4096, maxBlockedStreams: 100 });
    expect(zero.tableCapacity).toBe(0);
    zero.encodeFieldSection(0, request('/a'));
    expect(zero.takeEncoderStreamData()).toHaveLength(0);
  });

  it('uses min(ours, peer) and announces it', () => {
    const encoder = new QpackEncoder({ maxTableCapacity: 4096 });
    encoder.applyPeerSettings({ maxTableCapacity: 1000, maxBlockedStreams: 0 });
    expect(encoder.tableCapacity).toBe(1000);
    // 001xxxxx with 5-bit prefix: 31 + 969 = 0x3f c9 07
    expect(toHex(encoder.takeEncoderStreamData())).toBe('3fc907');
    expect(() => encoder.applyPeerSettings({ maxTableCapacity: 1000, maxBlockedStreams: 0 })).toThrow(/already/);
  });

  it('with no blocked streams allowed, references new entries only once acknowledged', () => {
    const encoder = new QpackEncoder();
    const decoder = new QpackDecoder({ maxTableCapacity: 4096, maxBlockedStreams: 0 });
    encoder.applyPeerSettings({ maxTableCapacity: 4096, maxBlockedStreams: 0 });
    decoder.onEncoderStreamData(encoder.takeEncoderStreamData()); // Set Dynamic Table Capacity
    // First sighting: literals only, nothing inserted.
    const first = encoder.encodeFieldSection(0, request('/a'));
    expect(first[0]).toBe(0);
    expect(encoder.takeEncoderStreamData()).toHaveLength(0);
    expect(decoder.decodeFieldSection(0, first)).toMatchObject({ headers: request('/a') });
    // Second: inserted, but the section cannot reference unacknowledged entries.
    const second = encoder.encodeFieldSection(4, request('/a'));
    expect(second[0]).toBe(0);
    expect(encoder.insertCount).toBe(3); // :authority, :path, user-agent (the others are static entries)
    decoder.onEncoderStreamData(encoder.takeEncoderStreamData());
    expect(decoder.decodeFieldSection(4, second)).toMatchObject({ headers: request('/a') });
    encoder.onDecoderStreamData(decoder.takeDecoderStreamData()); // Insert Count Increment
    const third = encoder.encodeFieldSection(8, request('/a'));
    expect(third.length).toBeLessThan(first.length / 3);
    expect(decoder.decodeFieldSection(8, third)).toMatchObject({ headers: request('/a') });
  });

  it('keeps sensitive fields out of the table and marks them never-index', () => {
    const encoder = new QpackEncoder();
    encoder.applyPeerSettings({ maxTableCapacity: 4096, maxBlockedStreams: 100 });
    const headers: HeaderList = [['authorization', 'Bearer secret-token'], ['cookie', 'sid=1'], ['x-custom', 'v']];
    const section = encoder.encodeFieldSection(0, headers);
    const decoder = new QpackDecoder({ maxTableCapacity: 4096, maxBlockedStreams: 100 });
    const encoderStream = encoder.takeEncoderStreamData();
    decoder.onEncoderStreamData(encoderStream);
    expect(decoder.decodeFieldSection(0, section)).toEqual({ status: 'done', headers, neverIndexed: [0, 1] });
    expect(Buffer.from(encoderStream).includes(Buffer.from('secret'))).toBe(false);
    expect(decoder.tableState.entries).toBe(1); // only x-custom
  });

  it('never evicts an entry that an unacknowledged section references', () => {
    // Each entry is ~80 bytes, so a 256-byte table holds 3; acknowledgments are withheld.
    const encoder = new QpackEncoder({ maxTableCapacity: 256 });
    encoder.applyPeerSettings({ maxTableCapacity: 256, maxBlockedStreams: 100 });
    const decoder = new QpackDecoder({ maxTableCapacity: 256, maxBlockedStreams: 100 });
    const sections: Array<[number, Uint8Array, HeaderList]> = [];
    for (let i = 0; i < 12; i++) {
      const headers: HeaderList = [['x-field', `value-${i}-${'v'.repeat(30)}`]];
      sections.push([4 * i, encoder.encodeFieldSection(4 * i, headers), headers]);
      decoder.onEncoderStreamData(encoder.takeEncoderStreamData());
    }
    // Only the first three could be inserted; the rest went literal instead of evicting.
    expect(encoder.insertCount).toBe(3);
    for (const [streamId, section, headers] of sections) expect(decoder.decodeFieldSection(streamId, section)).toMatchObject({ headers });
    encoder.onDecoderStreamData(decoder.takeDecoderStreamData());
    // Acknowledged: now old entries can be evicted for a new one (inserted on its second sighting).
    const another: HeaderList = [['x-field', 'another-value-that-needs-room-in-the-table-xxxxxxxxxx']];
    encoder.encodeFieldSection(100, another);
    encoder.encodeFieldSection(104, another);
    expect(encoder.insertCount).toBe(4);
  });

  it('respects the blocked-streams budget', () => {
    const encoder = new QpackEncoder();
    encoder.applyPeerSettings({ maxTableCapacity: 4096, maxBlockedStreams: 2 });
    const sections = Array.from({ length: 5 }, (_, i) => encoder.encodeFieldSection(4 * i, [['x-unique', `value-${i}`]]));
    expect(encoder.blockingStreamCount).toBe(2);
    // The first two reference their new entries (Required Insert Count > 0), the rest are literals.
    expect(sections.map((section) => section[0] !== 0)).toEqual([true, true, false, false, false]);
    // A decoder that sees the sections before the encoder stream blocks exactly two streams.
    const decoder = new QpackDecoder({ maxTableCapacity: 4096, maxBlockedStreams: 2 });
    expect(sections.map((section, i) => decoder.decodeFieldSection(4 * i, section).status)).toEqual(['blocked', 'blocked', 'done', 'done', 'done']);
    expect(decoder.onEncoderStreamData(encoder.takeEncoderStreamData())).toEqual([0, 4]);
  });

  it('rejects bad decoder-stream instructions with QPACK_DECODER_STREAM_ERROR', () => {
    const cases: Array<[string, RegExp]> = [
      ['84', /no unacknowledged section/], // Section Acknowledgment for a stream with nothing outstanding
      ['00', /Increment of 0/],
      ['01', /beyond 0 inserts/],
    ];
    for (const [bytes, message] of cases) {
      const encoder = new QpackEncoder();
      encoder.applyPeerSettings({ maxTableCapacity: 4096, maxBlockedStreams: 100 });
      const error = qpackErrorOf(() => encoder.onDecoderStreamData(hex(bytes)));
      expect(error.code).toBe(QPACK_DECODER_STREAM_ERROR);
      expect(error.message).toMatch(message);
    }
  });

  it('accepts decoder-stream instructions split anywhere', () => {
    const encoder = new QpackEncoder();
    encoder.applyPeerSettings({ maxTableCapacity: 4096, maxBlockedStreams: 100 });
    for (let i = 0; i < 100; i++) encoder.encodeFieldSection(1000, [['x-n', String(i)]]);
    expect(encoder.insertCount).toBe(100);
    // Insert Count Increment 100 (00xxxxxx, 63 + 37 -> 3f 25) then Stream Cancellation 1000 (01xxxxxx, 63 + 937 -> 7f a9 07), byte by byte.
    for (const byte of hex('3f25 7fa907')) encoder.onDecoderStreamData(Uint8Array.of(byte));
    expect(encoder.knownReceived).toBe(100);
    expect(encoder.blockingStreamCount).toBe(0);
  });

  it('round-trips through the decoder with immediate and late delivery', () => {
    const lists: HeaderList[] = [];
    for (let i = 0; i < 60; i++) lists.push([...request(`/object/${i % 7}`), ['x-trace', String(i)], ['cookie', i % 2 ? 'session=abcdefghijklmnopqrstuvwxyz' : 'a=b']]);
    for (const capacity of [0, 64, 256, 4096]) {
      for (const blockedStreams of [0, 1, 100]) {
        for (const delivery of ['immediate', 'late'] as const) {
          const { decoded } = roundTrip(lists, { capacity, blockedStreams, delivery });
          expect(decoded, `capacity ${capacity}, blocked ${blockedStreams}, ${delivery}`).toEqual(lists);
        }
      }
    }
  });

  it('compresses repeated requests with the dynamic table', () => {
    const lists = Array.from({ length: 50 }, () => request('/index.html'));
    const withTable = roundTrip(lists, { capacity: 4096, blockedStreams: 0, delivery: 'immediate' });
    const staticOnly = roundTrip(lists, { capacity: 0, blockedStreams: 0, delivery: 'immediate' });
    expect(withTable.encodedBytes + withTable.encoderStreamBytes).toBeLessThan(staticOnly.encodedBytes / 2);
  });
});
