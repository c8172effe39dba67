import { existsSync, readFileSync } from 'node:fs';
import { QpackDecoder, QpackEncoder, QpackError, type HeaderList } from '../../src/h3/qpack/index.ts';
import { interopCorpusPresent, listEncodedFiles, parseInteropFile, type InteropBlock } from '../h3/qpack/interop-corpus.ts';
import { seededRandom } from '../../src/metrics/stats.ts';

/** A replayable input: decoder settings and the blocks it receives (stream 0 = encoder stream). */
interface Seed {
  capacity: number;
  blockedStreams: number;
  initialTableCapacity: number;
  blocks: InteropBlock[];
}

export interface FuzzStats {
  iterations: number;
  elapsedMs: number;
  /** Inputs by how the decoder finished them. */
  outcomes: { decoded: number; blocked: number; qpackErrors: Record<string, number> };
  /** Slowest input (capped at the limit), and inputs over the limit once but not when re-run. */
  slowestInputMs: number;
  noisyTimings: number;
  /** Largest dynamic table size and encoder-stream buffer seen (both bounded by the table capacity). */
  maxTableSize: number;
  maxBufferedEncoderBytes: number;
  seeds: number;
}

export interface FuzzOptions {
  /** An input taking longer than this fails the run (a hang or super-linear work). */
  maxInputMs?: number;
  /** Extra seeds; the interop corpus (when present) and our encoder's output are always used. */
  seeds?: Seed[];
}


let cachedSeeds: Seed[] | undefined;

/** Real header blocks: the interop corpus (first blocks of each file) and our own encoder's output. */
export function loadSeeds(): Seed[] {
  if (cachedSeeds) return cachedSeeds;
  const seeds: Seed[] = [];
  if (interopCorpusPresent()) {
    for (const file of listEncodedFiles()) {
      if (!existsSync(file.file)) continue;
      seeds.push({
        capacity: file.tableCapacity,
        blockedStreams: file.blockedStreams,
        initialTableCapacity: file.tableCapacity,
        blocks: parseInteropFile(readFileSync(file.file)).slice(0, 40),
      });
    }
  }
  for (const capacity of [0, 256, 4096]) {
    const encoder = new QpackEncoder({ maxTableCapacity: capacity });
    encoder.applyPeerSettings({ maxTableCapacity: capacity, maxBlockedStreams: 16 });
    const blocks: InteropBlock[] = [];
    for (let i = 0; i < 24; i++) {
      const headers: HeaderList = [
        [':method', i % 4 ? 'GET' : 'POST'],
        [':scheme', 'https'],
        [':authority', `host${i % 3}.example`],
        [':path', `/resource/${i % 6}?page=${i}`],
        ['user-agent', 'bench-fuzz/1.0'],
        ['accept-encoding', 'gzip, deflate, br'],
        ['cookie', `session=${'k'.repeat(i)}`],
        ['x-request-id', String(i * 7919)],
      ];
      const section = encoder.encodeFieldSection(4 * (i + 1), headers);
      blocks.push({ streamId: 0, payload: encoder.takeEncoderStreamData() }, { streamId: 4 * (i + 1), payload: section });
    }
    seeds.push({ capacity, blockedStreams: 16, initialTableCapacity: 0, blocks });
  }
  cachedSeeds = seeds;
  return seeds;
}

function randomBytes(next: () => number, length: number): Uint8Array {
  const bytes = new Uint8Array(length);
  for (let i = 0; i < length; i++) bytes[i] = (next() * 256) | 0;
  return bytes;
}

/** One random structural mutation of `input`. */
function mutate(next: () => number, input: Uint8Array, donor: Uint8Array): Uint8Array {
  const bytes = Array.from(input);
  const at = () => (next() * (bytes.length + 1)) | 0;
  const rounds = 1 + ((next() * 4) | 0);
  for (let round = 0; round < rounds; round++) {
    switch ((next() * 8) | 0) {
      case 0: // flip a bit
        if (bytes.length) bytes[at() % bytes.length]! ^= 1 << ((next() * 8) | 0);
        break;
      case 1: // set an interesting byte
        if (bytes.length) bytes[at() % bytes.length] = [0x00, 0xff, 0x7f, 0x80, 0x3f, 0x1f, 0xc0, 0x40][(next() * 8) | 0]!;
        break;
      case 2: // insert random bytes
        bytes.splice(at(), 0, ...randomBytes(next, 1 + ((next() * 8) | 0)));
        break;
      case 3: // delete a run
        bytes.splice(at(), 1 + ((next() * 8) | 0));
        break;
      case 4: // truncate
        bytes.length = at();
        break;
      case 5: // splice in part of another real block
        if (donor.length) {
          const from = (next() * donor.length) | 0;
          bytes.splice(at(), 0, ...donor.subarray(from, from + 1 + ((next() * 16) | 0)));
        }
        break;
      case 6: // duplicate a run
        if (bytes.length) {
          const from = at() % bytes.length;
          bytes.splice(at(), 0, ...bytes.slice(from, from + 1 + ((next() * 16) | 0)));
        }
        break;
      default: // an oversized prefixed integer
        bytes.splice(at(), 0, 0xff, ...Array.from({ length: 1 + ((next() * 10) | 0) }, () => 0x80 | ((next() * 128) | 0)), (next() * 128) | 0);
    }
  }
  return Uint8Array.from(bytes);
}

/**
 * Feeds random and mutated encoder-stream data and field sections to fresh decoders (and random
 * decoder-stream data to an encoder). Only QpackError may escape; each input is time-bounded and
 * the table and buffers must stay within the capacity. Throws on the first violation, with the
 * iteration and input needed to reproduce it.
 */
export function fuzzQpack(iterations: number, seed: number, options: FuzzOptions = {}): FuzzStats {
  const next = seededRandom(seed);
  const seeds = [...loadSeeds(), ...(options.seeds ?? [])];
  const maxInputMs = options.maxInputMs ?? 250;
  const stats = newStats(seeds.length);
  const started = performance.now();
  for (let iteration = 0; iteration < iterations; iteration++) {
    const strategy = next();
    const base = seeds[(next() * seeds.length) | 0]!;
    const capacities = [0, 32, 256, 4096];
    let input: Seed;
    if (strategy < 0.15) {
      // Pure noise, as a field section or encoder-stream data.
      const capacity = capacities[(next() * capacities.length) | 0]!;
      const blocks: InteropBlock[] = [];
      for (let i = 0, n = 1 + ((next() * 3) | 0); i < n; i++) blocks.push({ streamId: next() < 0.5 ? 0 : 4 * (i + 1), payload: randomBytes(next, (next() * 48) | 0) });
      input = { capacity, blockedStreams: (next() * 3) | 0, initialTableCapacity: next() < 0.5 ? capacity : 0, blocks };
    } else if (strategy < 0.2) {
      fuzzDecoderStream(next);
      stats.iterations++;
      continue;
    } else {
      // A real prefix of blocks with one or two of them mutated.
      const count = 1 + ((next() * Math.min(base.blocks.length, 12)) | 0);
      const blocks = base.blocks.slice(0, count).map((block) => ({ ...block }));
      for (let m = 0, n = 1 + ((next() * 2) | 0); m < n; m++) {
        const target = (next() * blocks.length) | 0;
        const donor = base.blocks[(next() * base.blocks.length) | 0]!.payload;
        blocks[target] = { streamId: blocks[target]!.streamId, payload: mutate(next, blocks[target]!.payload, donor) };
      }
      input = { ...base, blocks };
      if (next() < 0.1) input.blockedStreams = 0;
    }

    // The input's own choices (splits, cancellations, limits) come from a seed of their own, so
    // that a slow input can be run again identically.
    const inputSeed = (next() * 2 ** 32) >>> 0;
    let inputMs = timeInput(() => runInput(input, seededRandom(inputSeed), stats, seed, iteration));
    if (inputMs > maxInputMs) {
      // One slow run can be a GC pause or a busy machine: the input fails only if it is slow again.
      const again = timeInput(() => runInput(input, seededRandom(inputSeed), undefined, seed, iteration));
      if (again > maxInputMs) {
        throw new Error(`fuzz seed ${seed} iteration ${iteration}: input took ${inputMs.toFixed(1)} ms and ${again.toFixed(1)} ms (limit ${maxInputMs} ms)\n  ${dumpInput(input)}`);
      }
      stats.noisyTimings++;
      inputMs = again;
    }
    stats.slowestInputMs = Math.max(stats.slowestInputMs, inputMs);
    stats.iterations++;
  }
  stats.elapsedMs = performance.now() - started;
  return stats;
}

function timeInput(run: () => void): number {
  const started = performance.now();
  run();
  return performance.now() - started;
}

function dumpInput(input: Seed): string {
  const blocks = input.blocks.map((block) => `${block.streamId}:${Buffer.from(block.payload).toString('hex')}`).join(' ');
  return `capacity ${input.capacity} blocked ${input.blockedStreams} initial ${input.initialTableCapacity}\n  input ${blocks}`;
}

/** Runs one input through a fresh decoder; `stats` is undefined for a timing re-run. */
function runInput(input: Seed, next: () => number, stats: FuzzStats | undefined, seed: number, iteration: number): void {
  const counted = stats ?? newStats(0);
  const decoder = new QpackDecoder({
    maxTableCapacity: input.capacity,
    maxBlockedStreams: input.blockedStreams,
    initialTableCapacity: input.initialTableCapacity,
    maxFieldSectionSize: next() < 0.2 ? 256 : undefined,
  });
  try {
    for (const block of input.blocks) {
      if (block.streamId === 0) {
        // Encoder-stream data arrives in arbitrary pieces.
        const whole = next() < 0.7;
        for (let offset = 0; offset < block.payload.length || (offset === 0 && block.payload.length === 0); ) {
          const size = whole ? Math.max(1, block.payload.length) : 1 + ((next() * 8) | 0);
          for (const streamId of decoder.onEncoderStreamData(block.payload.subarray(offset, offset + size))) {
            countResult(counted, decoder.retryBlocked(streamId).status);
          }
          offset += size;
        }
        counted.maxBufferedEncoderBytes = Math.max(counted.maxBufferedEncoderBytes, decoder.bufferedEncoderBytes);
        if (decoder.bufferedEncoderBytes > 4 * input.capacity + 64) throw new Error(`encoder-stream buffer ${decoder.bufferedEncoderBytes} exceeds the bound for capacity ${input.capacity}`);
      } else {
        if (next() < 0.05) decoder.cancelStream(block.streamId);
        try {
          countResult(counted, decoder.decodeFieldSection(block.streamId, block.payload).status);
        } catch (error) {
          // Replaying the same stream id twice while it is blocked is an API misuse, not input.
          if (error instanceof Error && !(error instanceof QpackError) && /already has a field section/.test(error.message)) continue;
          throw error;
        }
      }
      const { size, capacity } = decoder.tableState;
      counted.maxTableSize = Math.max(counted.maxTableSize, size);
      if (size > capacity || capacity > input.capacity) throw new Error(`table size ${size} exceeds capacity ${capacity} (max ${input.capacity})`);
      if (decoder.blockedStreamCount > input.blockedStreams) throw new Error('more blocked streams than allowed');
    }
    decoder.takeDecoderStreamData();
  } catch (error) {
    if (!(error instanceof QpackError)) {
      throw new Error(`fuzz seed ${seed} iteration ${iteration}: ${String(error)}\n  ${dumpInput(input)}`, { cause: error });
    }
    const key = `0x${error.code.toString(16)}`;
    counted.outcomes.qpackErrors[key] = (counted.outcomes.qpackErrors[key] ?? 0) + 1;
  }
}

function newStats(seeds: number): FuzzStats {
  return {
    iterations: 0,
    elapsedMs: 0,
    outcomes: { decoded: 0, blocked: 0, qpackErrors: {} },
    slowestInputMs: 0,
    noisyTimings: 0,
    maxTableSize: 0,
    maxBufferedEncoderBytes: 0,
    seeds,
  };
}

function countResult(stats: FuzzStats, status: 'done' | 'blocked'): void {
  if (status === 'done') stats.outcomes.decoded++;
  else stats.outcomes.blocked++;
}

/** Random decoder-stream bytes into an encoder that has sections outstanding. */
function fuzzDecoderStream(next: () => number): void {
  const encoder = new QpackEncoder({ maxTableCapacity: 256 });
  encoder.applyPeerSettings({ maxTableCapacity: 256, maxBlockedStreams: 4 });
  for (let i = 0; i < 4; i++) encoder.encodeFieldSection(4 * i, [['x-field', `value-${i}`], [':authority', 'example']]);
  try {
    encoder.onDecoderStreamData(randomBytes(next, (next() * 16) | 0));
  } catch (error) {
    if (!(error instanceof QpackError)) throw new Error(`decoder-stream input threw ${String(error)}`, { cause: error });
  }
}
