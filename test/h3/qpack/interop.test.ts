import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  QpackDecoder,
  QpackError,
  QPACK_DECOMPRESSION_FAILED,
  QPACK_ENCODER_STREAM_ERROR,
  Reader,
  type HeaderList,
} from '../../../src/h3/qpack/index.ts';
import {
  errorFiles,
  expectedLists,
  INTEROP_DIR,
  interopCorpusPresent,
  listEncodedFiles,
  parseInteropFile,
  parseQif,
  qifPath,
  readLatin1,
  type EncodedFile,
} from './interop-corpus.ts';
import { roundTrip } from './pipe.ts';

const present = interopCorpusPresent();
if (!present) {
  const reason = `QPACK interop corpus not found at ${INTEROP_DIR}`;
  if (process.env.CI === 'true') throw new Error(`${reason}: CI must provide shared/qpack-interop next to the repository`);
  console.log(`skipping QPACK interop tests: ${reason}`);
}

interface Replay {
  lists: HeaderList[];
  sectionsWithDynamicReferences: number;
  acknowledgments: number;
  maxBlocked: number;
}

/**
 * Replays an offline-interop file the way a connection would see it: encoder-stream blocks go
 * to the encoder stream, other blocks are field sections (held while blocked, then retried).
 * The file's table size and blocked-streams limit are the decoder's SETTINGS.
 */
function replay(file: EncodedFile): Replay {
  const decoder = new QpackDecoder({
    maxTableCapacity: file.tableCapacity,
    maxBlockedStreams: file.blockedStreams,
    // The corpus's encoders assume the table starts at its maximum and send no capacity instruction.
    initialTableCapacity: file.tableCapacity,
  });
  const lists: HeaderList[] = [];
  let sectionsWithDynamicReferences = 0;
  let maxBlocked = 0;
  const decoderStream: number[] = [];
  const done = (section: Uint8Array, headers: HeaderList) => {
    lists.push(headers);
    if (section[0] !== 0) sectionsWithDynamicReferences++;
  };
  const pending = new Map<number, Uint8Array>();
  for (const block of parseInteropFile(readFileSync(file.file))) {
    if (block.streamId === 0) {
      for (const streamId of decoder.onEncoderStreamData(block.payload)) {
        const result = decoder.retryBlocked(streamId);
        if (result.status !== 'done') throw new Error(`stream ${streamId} released but still blocked`);
        done(pending.get(streamId)!, result.headers);
        pending.delete(streamId);
      }
    } else {
      const result = decoder.decodeFieldSection(block.streamId, block.payload);
      if (result.status === 'done') done(block.payload, result.headers);
      else pending.set(block.streamId, block.payload);
      maxBlocked = Math.max(maxBlocked, decoder.blockedStreamCount);
    }
    decoderStream.push(...decoder.takeDecoderStreamData());
  }
  if (pending.size > 0) throw new Error(`${pending.size} sections never unblocked`);
  return { lists, sectionsWithDynamicReferences, acknowledgments: countAcknowledgments(Uint8Array.from(decoderStream)), maxBlocked };
}

/** Section Acknowledgments in decoder-stream bytes (and a check that the bytes parse). */
function countAcknowledgments(bytes: Uint8Array): number {
  const reader = new Reader(bytes, QPACK_DECOMPRESSION_FAILED);
  let acknowledgments = 0;
  while (reader.remaining > 0) {
    const first = reader.peek();
    if (first & 0x80) {
      reader.integer(7); // 1xxxxxxx section acknowledgment
      acknowledgments++;
    } else {
      reader.integer(6); // 01xxxxxx stream cancellation, 00xxxxxx insert count increment
    }
  }
  return acknowledgments;
}

const sorted = (lists: HeaderList[]) => lists.map((list) => JSON.stringify(list)).sort();

describe.runIf(present)('QPACK offline interop corpus', () => {
  const files = present ? listEncodedFiles() : [];

  it('decodes every encoded file to its header lists', () => {
    const tally = new Map<string, { files: number; decoded: number; lists: number }>();
    const failures: string[] = [];
    for (const file of files) {
      const row = tally.get(file.implementation) ?? { files: 0, decoded: 0, lists: 0 };
      tally.set(file.implementation, row);
      row.files++;
      const name = path.relative(INTEROP_DIR, file.file);
      const expected = expectedLists(file.qif);
      if (!expected) {
        failures.push(`${name}: no header lists to compare with`);
        continue;
      }
      try {
        const result = replay(file);
        if (JSON.stringify(sorted(result.lists)) !== JSON.stringify(sorted(expected.lists))) {
          failures.push(`${name}: decoded ${result.lists.length} lists that differ from ${expected.source}`);
          continue;
        }
        if (result.acknowledgments !== result.sectionsWithDynamicReferences) {
          failures.push(`${name}: ${result.acknowledgments} Section Acknowledgments for ${result.sectionsWithDynamicReferences} sections with dynamic references`);
          continue;
        }
        row.decoded++;
        row.lists += result.lists.length;
      } catch (error) {
        failures.push(`${name}: ${(error as Error).message}`);
      }
    }
    console.log('QPACK interop tally (files decoded to their qif / files, header lists):');
    for (const [implementation, row] of [...tally].sort()) {
      console.log(`  ${implementation.padEnd(16)} ${row.decoded}/${row.files} files, ${row.lists} header lists`);
    }
    const total = [...tally.values()].reduce((sum, row) => sum + row.decoded, 0);
    console.log(`  total            ${total}/${files.length} files`);
    expect(failures).toEqual([]);
    expect(total).toBe(files.length);
    // All six implementations of the corpus are present.
    expect([...tally.keys()].sort()).toEqual(expect.arrayContaining(['f5', 'ls-qpack', 'nghttp3', 'proxygen', 'qthingey', 'quinn']));
  });

  it('holds sections while blocked within the advertised limit', () => {
    // Files made for a decoder that allows blocked streams are replayed with that limit; those
    // made for 0 blocked streams must decode without ever blocking (checked by the decoder).
    for (const file of files.filter((candidate) => candidate.blockedStreams === 0)) {
      expect(replay(file).maxBlocked, file.file).toBe(0);
    }
  });

  // errors/: inputs a decoder must reject. err9 and err10 were written when the static table was
  // HPACK's (indices 1-61): they reference static index 0 and 62, which exist in RFC 9204's
  // 99-entry table, so a conforming decoder decodes them; the exact result is checked instead.
  const VALID_UNDER_RFC9204: Record<string, HeaderList> = {
    err9: [[':authority', '']], // 00 00 c0: indexed static 0
    err10: [['x-xss-protection', '1; mode=block']], // 00 00 fe: indexed static 62
  };

  it('rejects every file under errors/ with a QpackError (the two HPACK-era ones are checked as valid)', () => {
    const outcomes: string[] = [];
    const errors = present ? errorFiles() : [];
    expect(errors.length).toBeGreaterThan(0);
    for (const file of errors) {
      const name = path.basename(file);
      const decoder = new QpackDecoder({ maxTableCapacity: 4096, maxBlockedStreams: 100 });
      const decoded: HeaderList[] = [];
      let caught: unknown;
      try {
        for (const block of parseInteropFile(readFileSync(file))) {
          if (block.streamId === 0) decoder.onEncoderStreamData(block.payload);
          else {
            const result = decoder.decodeFieldSection(block.streamId, block.payload);
            if (result.status === 'done') decoded.push(result.headers);
          }
        }
      } catch (error) {
        caught = error;
      }
      const expectedValid = VALID_UNDER_RFC9204[name];
      if (expectedValid) {
        expect(caught, name).toBeUndefined();
        expect(decoded, name).toEqual([expectedValid]);
        outcomes.push(`${name}: valid under RFC 9204 (${JSON.stringify(decoded[0])})`);
        continue;
      }
      expect(caught, name).toBeInstanceOf(QpackError);
      const { code, message } = caught as QpackError;
      // Encoder-stream input (stream 0) fails with the encoder-stream code, field sections with decompression failure.
      const onEncoderStream = parseInteropFile(readFileSync(file)).every((block) => block.streamId === 0);
      expect(code, name).toBe(onEncoderStream ? QPACK_ENCODER_STREAM_ERROR : QPACK_DECOMPRESSION_FAILED);
      outcomes.push(`${name}: ${message}`);
    }
    console.log(`QPACK interop errors/ (${errors.length} files):\n  ${outcomes.join('\n  ')}`);
  });

  it('round-trips every qif header list through our encoder and decoder', () => {
    const qifs = ['draft-examples', 'netbsd', 'fb-req'];
    const summary: string[] = [];
    for (const qif of qifs) {
      const lists = parseQif(readLatin1(qifPath(qif)));
      expect(lists.length).toBeGreaterThan(0);
      for (const capacity of [0, 256, 4096]) {
        for (const blockedStreams of [0, 100]) {
          for (const delivery of ['immediate', 'late'] as const) {
            const result = roundTrip(lists, { capacity, blockedStreams, delivery });
            expect(result.decoded, `${qif} capacity ${capacity} blocked ${blockedStreams} ${delivery}`).toEqual(lists);
            if (delivery === 'immediate') {
              summary.push(`${qif} @${capacity}/${blockedStreams}: ${result.encodedBytes + result.encoderStreamBytes} bytes`);
            }
          }
        }
      }
    }
    console.log(`QPACK round trip, encoded size (sections + encoder stream):\n  ${summary.join('\n  ')}`);
  });
});
