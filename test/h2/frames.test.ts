/**
 * HTTP/2 framing against byte vectors written by hand from RFC 9113 Section 4.1 (the 9-byte frame
 * header) and Section 6 (each frame's payload layout).
 */
import { describe, expect, it } from 'vitest';
import {
  CLIENT_PREFACE, FLAG_END_HEADERS, FLAG_PADDED, FLAG_PRIORITY, FrameReader, goawayFrame, H2ConnectionError, headersFrames, pingFrame,
  rstStreamFrame, settingsFrame, SETTINGS_ACK_FRAME, unpad, windowUpdateFrame,
} from '../../src/h2/frames.ts';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const h = (b: Uint8Array) => Buffer.from(b).toString('hex');

type Frame = [type: number, flags: number, streamId: number, payload: string];
function readAll(chunks: Buffer[], maxFrameSize?: number): Frame[] {
  const frames: Frame[] = [];
  const reader = new FrameReader({ frame: (type, flags, id, bytes, start, end) => frames.push([type, flags, id, h(bytes.subarray(start, end))]) }, maxFrameSize);
  for (const c of chunks) reader.push(c);
  return frames;
}

describe('HTTP/2 frames (RFC 9113)', () => {
  it('the client preface is the 24 octets of Section 3.4', () => {
    expect(h(CLIENT_PREFACE)).toBe('505249202a20485454502f322e300d0a0d0a534d0d0a0d0a');
  });

  it('writes frames: 24-bit length, type, flags, 31-bit stream id, payload', () => {
    expect(h(settingsFrame([[2, 0], [4, 6 * 1024 * 1024]]))).toBe('00000c040000000000' + '000200000000' + '000400600000');
    expect(h(SETTINGS_ACK_FRAME)).toBe('000000040100000000');
    expect(h(windowUpdateFrame(0, 15 * 1024 * 1024 - 65_535))).toBe('000004080000000000' + '00ef0001');
    expect(h(windowUpdateFrame(7, 1))).toBe('000004080000000007' + '00000001');
    expect(h(rstStreamFrame(3, 8))).toBe('000004030000000003' + '00000008');
    expect(h(goawayFrame(5, 1, 'x'))).toBe('000009070000000000' + '00000005' + '00000001' + '78');
    expect(h(pingFrame(hex('0102030405060708'), true))).toBe('000008060100000000' + '0102030405060708');
  });

  it('splits a header block larger than SETTINGS_MAX_FRAME_SIZE into HEADERS and CONTINUATION (Section 6.10)', () => {
    const block = Buffer.alloc(40, 0xab);
    const frames = readAll([headersFrames(1, block, true, 16)]);
    expect(frames.map(([type, flags, id, payload]) => [type, flags, id, payload.length / 2])).toEqual([
      [1, 0x01, 1, 16], // HEADERS, END_STREAM, no END_HEADERS
      [9, 0x00, 1, 16], // CONTINUATION
      [9, FLAG_END_HEADERS, 1, 8],
    ]);
    expect(h(headersFrames(1, hex('8287'), true))).toBe('000002010500000001' + '8287');
  });

  it('reads frames cut anywhere, several in one chunk, ignoring the reserved bit', () => {
    const bytes = Buffer.concat([hex('000004080000000003 00000010'), hex('000000040100000000'), hex('000003 00 01 80000001 616263')]);
    const expected: Frame[] = [[8, 0, 3, '00000010'], [4, 1, 0, ''], [0, 1, 1, '616263']];
    expect(readAll([bytes])).toEqual(expected);
    expect(readAll([...bytes].map((b) => Buffer.from([b])))).toEqual(expected);
    expect(readAll([bytes.subarray(0, 5), bytes.subarray(5, 20), bytes.subarray(20)])).toEqual(expected);
  });

  it('a frame longer than our SETTINGS_MAX_FRAME_SIZE is a FRAME_SIZE_ERROR (Section 4.2)', () => {
    const error = (() => {
      try {
        readAll([hex('004001 00 00 00000001')]);
      } catch (e) {
        return e as H2ConnectionError;
      }
    })();
    expect(error).toBeInstanceOf(H2ConnectionError);
    expect(error!.code).toBe(0x6);
  });

  it('removes padding and priority (Sections 6.1, 6.2); padding as long as the payload is a PROTOCOL_ERROR', () => {
    // DATA, PADDED: Pad Length 2, "hi", two octets of padding.
    const data = hex('02 6869 0000');
    const bounds = { start: 0, end: data.length };
    unpad(FLAG_PADDED, data, bounds, false);
    expect(h(data.subarray(bounds.start, bounds.end))).toBe('6869');
    // HEADERS, PADDED | PRIORITY: Pad Length 1, E + dependency (4), weight (1), block 0x88, padding.
    const headers = hex('01 80000003 0f 88 00');
    const hb = { start: 0, end: headers.length };
    unpad(FLAG_PADDED | FLAG_PRIORITY, headers, hb, true);
    expect(h(headers.subarray(hb.start, hb.end))).toBe('88');
    expect(() => unpad(FLAG_PADDED, hex('05 6869'), { start: 0, end: 3 }, false)).toThrow(/padding of 5 bytes/);
  });
});
