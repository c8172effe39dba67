import { describe, expect, it } from 'vitest';
import { FieldSectionTooLargeError, QpackDecoder, QpackEncoder, QpackError } from '../../../src/h3/qpack/index.ts';

describe('maxFieldSectionSize', () => {
  it('refuses one over-long Huffman string as a too-large section (431), not a decompression failure', () => {
    const encoder = new QpackEncoder({ maxTableCapacity: 0 });
    // 'a' is a 5-bit Huffman code: 1200 of them fit in 750 octets, under the 1000-octet limit,
    // and decode to 1200, over it.
    const section = encoder.encodeFieldSection(0, [['x-long', 'a'.repeat(1200)]]);
    expect(section.length).toBeLessThan(1000);
    const decoder = new QpackDecoder({ maxTableCapacity: 0, maxBlockedStreams: 0, maxFieldSectionSize: 1000 });
    let caught: unknown;
    try {
      decoder.decodeFieldSection(0, section);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(FieldSectionTooLargeError);
    // The decoder is still usable: a section within the limit decodes.
    expect(decoder.decodeFieldSection(4, encoder.encodeFieldSection(4, [['x-short', 'ok']]))).toMatchObject({
      status: 'done',
      headers: [['x-short', 'ok']],
    });
  });

  it('still fails malformed input with QPACK_DECOMPRESSION_FAILED', () => {
    const decoder = new QpackDecoder({ maxTableCapacity: 0, maxBlockedStreams: 0, maxFieldSectionSize: 1000 });
    // Required Insert Count 0, Base 0, then an indexed static field line with index 99 (no such entry).
    const bad = Uint8Array.from([0x00, 0x00, 0xff, 0x24]);
    expect(() => decoder.decodeFieldSection(0, bad)).toThrow(QpackError);
    try {
      decoder.decodeFieldSection(0, bad);
    } catch (error) {
      expect(error).not.toBeInstanceOf(FieldSectionTooLargeError);
      expect((error as QpackError).code).toBe(0x200);
    }
  });
});
