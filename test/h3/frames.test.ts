import { describe, expect, it } from 'vitest';
import {
  H3Error,
  H3_EXCESSIVE_LOAD,
  H3_FRAME_ERROR,
  H3_FRAME_UNEXPECTED,
  H3_SETTINGS_ERROR,
} from '../../src/h3/errors.ts';
import {
  encodeCancelPushFrame,
  encodeDataFrame,
  encodeFrame,
  encodeFrameHeader,
  encodeGoawayFrame,
  encodeHeadersFrame,
  encodeMaxPushIdFrame,
  encodePushPromiseFrame,
  encodeSettingsFrame,
  FRAME_SETTINGS,
  FrameReader,
  isReservedCode,
  parseSettingsPayload,
  reservedCode,
  SETTINGS_MAX_FIELD_SECTION_SIZE,
  SETTINGS_QPACK_BLOCKED_STREAMS,
  SETTINGS_QPACK_MAX_TABLE_CAPACITY,
  type FrameEvent,
  type FrameStreamKind,
} from '../../src/h3/frames.ts';

const hex = (s: string) => Uint8Array.from(Buffer.from(s.replace(/\s/g, ''), 'hex'));
const toHex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const concat = (...parts: Uint8Array[]) => Uint8Array.from(Buffer.concat(parts));

/** Events with DATA pieces merged, so that different chunkings compare equal. */
function drain(reader: FrameReader, out: unknown[]): void {
  for (let ev = reader.next(); ev; ev = reader.next()) {
    const last = out[out.length - 1] as { kind: string; bytes?: string } | undefined;
    if (ev.kind === 'data' && last?.kind === 'data') last.bytes += toHex(ev.bytes);
    else out.push(normalize(ev));
  }
}
function normalize(ev: FrameEvent): unknown {
  if (ev.kind === 'data') return { kind: 'data', bytes: toHex(ev.bytes) };
  if (ev.kind === 'frame' && 'fieldSection' in ev.frame) return { ...ev, frame: { ...ev.frame, fieldSection: toHex(ev.frame.fieldSection) } };
  return ev;
}
function readAll(kind: FrameStreamKind, chunks: Uint8Array[]): unknown[] {
  const reader = new FrameReader(kind);
  const out: unknown[] = [];
  for (const c of chunks) {
    reader.push(c);
    drain(reader, out);
  }
  return out;
}
function errorOf(kind: FrameStreamKind, bytes: Uint8Array): H3Error {
  try {
    readAll(kind, [bytes]);
  } catch (e) {
    expect(e).toBeInstanceOf(H3Error);
    return e as H3Error;
  }
  throw new Error('expected an H3Error');
}

describe('frame serialization (RFC 9114 section 7.2 layouts)', () => {
  it('writes SETTINGS, GOAWAY, MAX_PUSH_ID, CANCEL_PUSH, DATA, HEADERS, PUSH_PROMISE byte for byte', () => {
    // type 0x04, length 6, id 0x01 value 4096 (2-byte 0x5000), id 0x07 value 100 (2-byte 0x4064)
    expect(toHex(encodeSettingsFrame([[SETTINGS_QPACK_MAX_TABLE_CAPACITY, 4096], [SETTINGS_QPACK_BLOCKED_STREAMS, 100]]))).toBe(
      '0406015000074064',
    );
    expect(toHex(encodeGoawayFrame(4))).toBe('070104');
    expect(toHex(encodeGoawayFrame(16384))).toBe('070480004000'); // 4-byte varint id
    expect(toHex(encodeMaxPushIdFrame(7))).toBe('0d0107');
    expect(toHex(encodeCancelPushFrame(1))).toBe('030101');
    expect(toHex(encodeDataFrame(hex('68656c6c6f')))).toBe('000568656c6c6f');
    expect(toHex(encodeHeadersFrame(hex('0000d1')))).toBe('01030000d1');
    expect(toHex(encodePushPromiseFrame(2, hex('0000d1')))).toBe('0504020000d1');
    // A 64-byte payload needs a 2-byte length (0x4040).
    expect(toHex(encodeFrameHeader(0, 64))).toBe('004040');
    // Reserved type 0x21 (N=0) with an empty payload.
    expect(toHex(encodeFrame(reservedCode(0), new Uint8Array(0)))).toBe('2100');
  });

  it('knows reserved codes 0x1f*N+0x21', () => {
    expect([0, 1, 2].map(reservedCode)).toEqual([0x21, 0x40, 0x5f]);
    expect(isReservedCode(0x21)).toBe(true);
    expect(isReservedCode(0x1f * 1000 + 0x21)).toBe(true);
    expect(isReservedCode(0x22)).toBe(false);
    expect(isReservedCode(0x1fn * 0x1000000000000n + 0x21n)).toBe(true);
  });
});

describe('SETTINGS payload', () => {
  it('parses known, unknown and GREASE identifiers', () => {
    const frame = encodeSettingsFrame([
      [SETTINGS_QPACK_MAX_TABLE_CAPACITY, 0],
      [SETTINGS_MAX_FIELD_SECTION_SIZE, 65536],
      [reservedCode(12345), 77],
      [0x1fn * 0x100000000000n + 0x21n, 1], // GREASE id beyond 2^53
    ]);
    const events = readAll('control', [frame]) as Array<{ kind: string; frame: { settings: Map<number, number> } }>;
    const settings = events[0]!.frame.settings;
    expect(settings.get(SETTINGS_QPACK_MAX_TABLE_CAPACITY)).toBe(0);
    expect(settings.get(SETTINGS_MAX_FIELD_SECTION_SIZE)).toBe(65536);
    expect(settings.get(reservedCode(12345))).toBe(77);
    expect(settings.size).toBe(4);
  });

  it('rejects duplicates and HTTP/2 identifiers with H3_SETTINGS_ERROR', () => {
    const dup = () => parseSettingsPayload(hex('0100 0100'));
    expect(dup).toThrow(H3Error);
    for (const id of [0x00, 0x02, 0x03, 0x04, 0x05]) {
      try {
        parseSettingsPayload(Uint8Array.of(id, 1));
        throw new Error('accepted');
      } catch (e) {
        expect((e as H3Error).code).toBe(H3_SETTINGS_ERROR);
        expect((e as H3Error).scope).toBe('connection');
      }
    }
    try {
      dup();
    } catch (e) {
      expect((e as H3Error).code).toBe(H3_SETTINGS_ERROR);
    }
    // Duplicate 8-byte identifiers that differ only below 2^53 precision are not duplicates.
    const a = encodeSettingsFrame([[0x1fn * 0x100000000000n + 0x21n, 1], [0x1fn * 0x100000000001n + 0x21n, 1]]);
    expect(() => readAll('control', [a])).not.toThrow();
  });

  it('rejects a payload that ends inside a setting with H3_FRAME_ERROR', () => {
    expect(errorOf('control', hex('0401 01')).code).toBe(H3_FRAME_ERROR);
    expect(errorOf('control', hex('0402 01 40')).code).toBe(H3_FRAME_ERROR);
  });
});

describe('FrameReader', () => {
  const requestSequence = concat(
    encodeHeadersFrame(hex('0000d1d7')),
    encodeFrame(reservedCode(3), hex('deadbeef')),
    encodeDataFrame(hex('0102030405')),
    encodeDataFrame(new Uint8Array(0)),
    encodeFrame(0x2f, new Uint8Array(70)), // unknown, non-reserved type, 2-byte length
    encodeDataFrame(new Uint8Array(300).fill(7)),
    encodeHeadersFrame(hex('00005f')),
  );
  const controlSequence = concat(
    encodeSettingsFrame([[SETTINGS_QPACK_MAX_TABLE_CAPACITY, 4096], [reservedCode(1), 1]]),
    encodeFrame(reservedCode(7), hex('00')),
    encodeMaxPushIdFrame(3),
    encodeCancelPushFrame(2),
    encodeGoawayFrame(1073741824), // 8-byte varint
  );

  it('reads a request stream: HEADERS, DATA pieces, unknown frames skipped, trailers', () => {
    const events = readAll('request', [requestSequence]);
    expect(events).toEqual([
      { kind: 'frame', frame: { type: 'headers', fieldSection: '0000d1d7' } },
      { kind: 'unknown', frameType: reservedCode(3), length: 4 },
      { kind: 'data-start', length: 5 },
      { kind: 'data', bytes: '0102030405' },
      { kind: 'data-start', length: 0 },
      { kind: 'unknown', frameType: 0x2f, length: 70 },
      { kind: 'data-start', length: 300 },
      { kind: 'data', bytes: '07'.repeat(300) },
      { kind: 'frame', frame: { type: 'headers', fieldSection: '00005f' } },
    ]);
  });

  it('reads a control stream', () => {
    const events = readAll('control', [controlSequence]) as Array<{ kind: string; frame?: { type: string } }>;
    expect(events.map((e) => e.frame?.type ?? e.kind)).toEqual(['settings', 'unknown', 'max_push_id', 'cancel_push', 'goaway']);
    expect(events[4]).toEqual({ kind: 'frame', frame: { type: 'goaway', id: 1073741824 } });
  });

  it('gives the same events for every split into two chunks and for byte-by-byte input', () => {
    for (const [kind, seq] of [
      ['request', requestSequence],
      ['control', controlSequence],
    ] as const) {
      const whole = readAll(kind, [seq]);
      for (let cut = 0; cut <= seq.length; cut++) {
        expect(readAll(kind, [seq.slice(0, cut), seq.slice(cut)])).toEqual(whole);
      }
      expect(readAll(kind, [...seq].map((b) => Uint8Array.of(b)))).toEqual(whole);
    }
  });

  it('every truncated prefix yields "need more" (null) and no exception', () => {
    for (const [kind, seq] of [
      ['request', requestSequence],
      ['control', controlSequence],
    ] as const) {
      for (let n = 0; n < seq.length; n++) {
        const reader = new FrameReader(kind);
        reader.push(seq.slice(0, n));
        const out: unknown[] = [];
        drain(reader, out); // throws on any error: none allowed for a valid prefix
        expect(reader.next()).toBeNull();
        expect(reader.buffered).toBe(0);
      }
      const reader = new FrameReader(kind);
      reader.push(seq.slice());
      drain(reader, []);
      expect(reader.atFrameBoundary).toBe(true);
    }
  });

  it('every truncated prefix of invalid input fails only with H3Error', () => {
    const bad = concat(encodeHeadersFrame(hex('0000')), hex('0401'), encodeSettingsFrame([]));
    for (let n = 0; n <= bad.length; n++) {
      const reader = new FrameReader('request');
      reader.push(bad.slice(0, n));
      try {
        drain(reader, []);
      } catch (e) {
        expect(e).toBeInstanceOf(H3Error);
        expect((e as H3Error).code).toBe(H3_FRAME_UNEXPECTED);
      }
    }
  });

  it('limits DATA pieces to maxData and stops at DATA payload with maxData 0', () => {
    const reader = new FrameReader('request');
    reader.push(encodeDataFrame(hex('0102030405')));
    expect(reader.next(0)).toEqual({ kind: 'data-start', length: 5 });
    expect(reader.next(0)).toBeNull();
    expect(reader.inDataPayload).toBe(true);
    expect(toHex((reader.next(2) as { bytes: Uint8Array }).bytes)).toBe('0102');
    expect(reader.dataRemaining).toBe(3);
    expect(toHex((reader.next(10) as { bytes: Uint8Array }).bytes)).toBe('030405');
    expect(reader.atFrameBoundary).toBe(true);
  });

  it('rejects HTTP/2-only frame types with H3_FRAME_UNEXPECTED on every stream kind', () => {
    for (const type of [0x02, 0x06, 0x08, 0x09]) {
      for (const kind of ['control', 'request', 'response'] as const) {
        const e = errorOf(kind, encodeFrame(type, new Uint8Array(1)));
        expect([e.code, e.scope]).toEqual([H3_FRAME_UNEXPECTED, 'connection']);
      }
    }
  });

  it('rejects frames on the wrong stream with H3_FRAME_UNEXPECTED', () => {
    const cases: Array<[FrameStreamKind, Uint8Array]> = [
      ['control', encodeDataFrame(hex('00'))],
      ['control', encodeHeadersFrame(hex('0000'))],
      ['control', encodePushPromiseFrame(0, hex('0000'))],
      ['request', encodeSettingsFrame([])],
      ['request', encodeGoawayFrame(0)],
      ['request', encodeMaxPushIdFrame(0)],
      ['request', encodeCancelPushFrame(0)],
      ['request', encodePushPromiseFrame(0, hex('0000'))], // a client may not push
      ['response', encodeSettingsFrame([])],
    ];
    for (const [kind, bytes] of cases) expect(errorOf(kind, bytes).code).toBe(H3_FRAME_UNEXPECTED);
    // A server's PUSH_PROMISE on a response stream is well-formed at the frame layer.
    expect(readAll('response', [encodePushPromiseFrame(5, hex('0000'))])).toEqual([
      { kind: 'frame', frame: { type: 'push_promise', pushId: 5, fieldSection: '0000' } },
    ]);
  });

  it('enforces frame sizes', () => {
    // GOAWAY whose payload is not exactly one varint.
    expect(errorOf('control', hex('0702 0400')).code).toBe(H3_FRAME_ERROR);
    expect(errorOf('control', hex('0700')).code).toBe(H3_FRAME_ERROR);
    expect(errorOf('control', hex('0d03 400100')).code).toBe(H3_FRAME_ERROR);
    expect(errorOf('control', hex('0309')).code).toBe(H3_FRAME_ERROR); // 9 bytes: more than any varint
    const big = new FrameReader('control', { maxFieldSectionFrame: 100, maxSettingsFrame: 10 });
    big.push(encodeFrameHeader(FRAME_SETTINGS, 11));
    expect(() => big.next()).toThrow(expect.objectContaining({ code: H3_EXCESSIVE_LOAD, scope: 'connection' }));
    const headers = new FrameReader('request', { maxFieldSectionFrame: 100, maxSettingsFrame: 10 });
    headers.push(encodeFrameHeader(0x01, 101));
    expect(() => headers.next()).toThrow(expect.objectContaining({ code: H3_EXCESSIVE_LOAD, scope: 'stream' }));
    expect(() => headers.next()).toThrow(expect.objectContaining({ code: H3_EXCESSIVE_LOAD }));
    // Huge DATA and unknown frames stream through without buffering.
    const data = new FrameReader('request');
    data.push(hex('00 c000000100000000 aabb')); // DATA of 2^32 bytes, 2 arrive
    expect(data.next()).toEqual({ kind: 'data-start', length: 2 ** 32 });
    expect(data.next()).toEqual({ kind: 'data', bytes: hex('aabb') });
    expect(data.dataRemaining).toBe(2 ** 32 - 2);
  });
});
