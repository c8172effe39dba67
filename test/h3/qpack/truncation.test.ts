import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  QpackDecoder,
  QpackEncoder,
  QpackError,
  QPACK_DECOMPRESSION_FAILED,
  type DecodeResult,
  type HeaderList,
} from '../../../src/h3/qpack/index.ts';
import { hex } from './hex.ts';
import { INTEROP_DIR, interopCorpusPresent, listEncodedFiles, parseInteropFile, type InteropBlock } from './interop-corpus.ts';
import { peerMissing } from '../../support/peers.ts';

const corpusMissing = peerMissing(interopCorpusPresent(), `the QPACK interop corpus at ${INTEROP_DIR} (shared/qpack-interop beside the repository)`);

const SCRATCH_STREAM = 2 ** 40;

/**
 * Decodes every proper prefix of `section` with the decoder's current state. Each must fail with
 * QPACK_DECOMPRESSION_FAILED, block (then cancelled), or - when it ends on a line boundary -
 * decode to a prefix of the full header list. Returns the number of prefixes tried.
 */
function checkPrefixes(decoder: QpackDecoder, section: Uint8Array, full: HeaderList | undefined): number {
  for (let length = 0; length < section.length; length++) {
    let result: DecodeResult;
    try {
      result = decoder.decodeFieldSection(SCRATCH_STREAM, section.subarray(0, length));
    } catch (error) {
      if (!(error instanceof QpackError)) throw new Error(`prefix ${length}/${section.length} threw ${String(error)}`);
      expect(error.code).toBe(QPACK_DECOMPRESSION_FAILED);
      continue;
    }
    if (result.status === 'blocked') {
      decoder.cancelStream(SCRATCH_STREAM);
      continue;
    }
    if (full) expect(result.headers).toEqual(full.slice(0, result.headers.length));
  }
  return section.length;
}

/** Replays sections and encoder-stream data; every section's prefixes are checked first, and the encoder stream is fed byte by byte. */
function replayWithPrefixes(blocks: InteropBlock[], capacity: number, blockedStreams: number, initialTableCapacity = 0): number {
  const decoder = new QpackDecoder({ maxTableCapacity: capacity, maxBlockedStreams: blockedStreams, initialTableCapacity });
  // A twin decoder sees whole instructions, to compare the tables at the end.
  const twin = new QpackDecoder({ maxTableCapacity: capacity, maxBlockedStreams: blockedStreams, initialTableCapacity });
  let prefixes = 0;
  for (const block of blocks) {
    if (block.streamId === 0) {
      for (const byte of block.payload) {
        for (const streamId of decoder.onEncoderStreamData(Uint8Array.of(byte))) decoder.retryBlocked(streamId);
      }
      for (const streamId of twin.onEncoderStreamData(block.payload)) twin.retryBlocked(streamId);
      expect(decoder.tableState).toEqual(twin.tableState);
      continue;
    }
    // The full list, from the twin, to compare prefix decodings with.
    const full = twin.decodeFieldSection(block.streamId, block.payload);
    prefixes += checkPrefixes(decoder, block.payload, full.status === 'done' ? full.headers : undefined);
    decoder.decodeFieldSection(block.streamId, block.payload);
  }
  expect(decoder.insertCount).toBe(twin.insertCount);
  expect(decoder.bufferedEncoderBytes).toBe(0);
  return prefixes;
}

describe('truncated input fails cleanly', () => {
  it('RFC 9204 Appendix B: every prefix of every section and of the encoder stream', () => {
    const blocks: InteropBlock[] = [
      { streamId: 4, payload: hex('0000 510b 2f69 6e64 6578 2e68 746d 6c') },
      { streamId: 0, payload: hex('3fbd01 c00f 7777 772e 6578 616d 706c 652e 636f 6d c10c 2f73 616d 706c 652f 7061 7468') },
      { streamId: 8, payload: hex('0381 10 11') },
      { streamId: 0, payload: hex('4a63 7573 746f 6d2d 6b65 790c 6375 7374 6f6d 2d76 616c 7565 02') },
      { streamId: 12, payload: hex('0500 80 c1 81') },
      { streamId: 0, payload: hex('810d 6375 7374 6f6d 2d76 616c 7565 32') },
    ];
    expect(replayWithPrefixes(blocks, 220, 100)).toBe(15 + 4 + 5);
  });

  it('our encoder output: every prefix of every section; decoder stream fed byte by byte', () => {
    const encoder = new QpackEncoder({ maxTableCapacity: 512 });
    encoder.applyPeerSettings({ maxTableCapacity: 512, maxBlockedStreams: 10 });
    const blocks: InteropBlock[] = [];
    const lists: HeaderList[] = Array.from({ length: 30 }, (_, i) => [
      [':method', i % 3 ? 'GET' : 'POST'],
      [':scheme', 'https'],
      [':authority', 'bench.example'],
      [':path', `/objects/${i % 5}?q=${'x'.repeat(i)}`],
      ['user-agent', 'bench/0.1 (linux; node 20)'],
      ['authorization', 'Bearer abcdef'],
      ['x-\u00e9t\u00e9', '\u00ff\u0000\u007f'],
    ]);
    const probe = new QpackDecoder({ maxTableCapacity: 512, maxBlockedStreams: 10 });
    lists.forEach((headers, i) => {
      // Stream 0 is the encoder stream in the replay format: request streams start at 4.
      const streamId = 4 * (i + 1);
      const section = encoder.encodeFieldSection(streamId, headers);
      blocks.push({ streamId: 0, payload: encoder.takeEncoderStreamData() }, { streamId, payload: section });
      // Acknowledge through the decoder stream, one byte at a time.
      probe.onEncoderStreamData(blocks.at(-2)!.payload);
      expect(probe.decodeFieldSection(streamId, section)).toMatchObject({ headers });
      for (const byte of probe.takeDecoderStreamData()) encoder.onDecoderStreamData(Uint8Array.of(byte));
    });
    expect(encoder.blockingStreamCount).toBe(0);
    expect(replayWithPrefixes(blocks, 512, 10)).toBeGreaterThan(500);
  });

  it.skipIf(corpusMissing)('the interop corpus: every prefix of every section (fb-req: the first 20), encoder streams byte by byte', () => {
    let prefixes = 0;
    let files = 0;
    // One file per implementation and input, the one that uses the table most (largest capacity, blocking allowed).
    const chosen = new Map<string, ReturnType<typeof listEncodedFiles>[number]>();
    for (const file of listEncodedFiles()) {
      const key = `${file.implementation}/${file.qif}`;
      const current = chosen.get(key);
      if (!current || file.tableCapacity * 1000 + file.blockedStreams > current.tableCapacity * 1000 + current.blockedStreams) chosen.set(key, file);
    }
    for (const file of chosen.values()) {
      let blocks = parseInteropFile(readFileSync(file.file));
      if (file.qif === 'fb-req') {
        let sections = 0;
        blocks = blocks.filter((block) => block.streamId === 0 || ++sections <= 20);
      }
      try {
        prefixes += replayWithPrefixes(blocks, file.tableCapacity, file.blockedStreams, file.tableCapacity);
      } catch (error) {
        throw new Error(`${path.relative(INTEROP_DIR, file.file)}: ${(error as Error).message}`);
      }
      files++;
    }
    console.log(`truncation: ${prefixes} section prefixes from ${files} interop files, all failed cleanly or decoded a prefix`);
    expect(files).toBeGreaterThan(0);
  });
});
