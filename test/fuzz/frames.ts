/**
 * Fuzz target for the HTTP/3 frame layer: random and mutated frame sequences into FrameReader
 * (every stream kind, random chunking), and into H3Connection (server and client) over the
 * in-memory pipe from a peer that writes raw bytes. Allowed outcomes: values, "need more", or a
 * typed H3Error (QpackError inside the connection becomes a connection error); anything else
 * thrown, a reader that stops making progress, or buffers beyond their limits is a violation.
 */
import { H3Connection, type H3Event } from '../../src/h3/connection.ts';
import { H3Error, h3ErrorName } from '../../src/h3/errors.ts';
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
  FrameReader,
  reservedCode,
  type FrameReaderLimits,
  type FrameStreamKind,
} from '../../src/h3/frames.ts';
import { QpackEncoder } from '../../src/h3/qpack/index.ts';
import { encodeVarint } from '../../src/h3/varint.ts';
import { Pipe } from '../h3/pipe.ts';
import { seededRandom } from '../../src/metrics/stats.ts';

export interface FrameFuzzStats {
  iterations: number;
  elapsedMs: number;
  readerInputs: number;
  connectionInputs: number;
  /** Inputs the reader consumed without error. */
  readerAccepted: number;
  /** H3Error codes seen, by RFC name. */
  errors: Record<string, number>;
  /** Connections that ended closed by us, and ones still open after the input. */
  connectionsClosed: number;
  connectionsOpen: number;
  /** Largest number of input bytes a reader held at once. */
  maxReaderBuffered: number;
  heapUsedMb: number;
}


const LIMITS: FrameReaderLimits = { maxFieldSectionFrame: 4096, maxSettingsFrame: 256 };
const enc = new TextEncoder();
const concat = (parts: Uint8Array[]) => Uint8Array.from(Buffer.concat(parts));

const REQUEST_HEADERS: Array<Array<[string, string]>> = [
  [
    [':method', 'GET'],
    [':scheme', 'https'],
    [':authority', 'example.com'],
    [':path', '/index.html'],
    ['user-agent', 'Mozilla/5.0 (X11; Linux x86_64) Chrome/120.0'],
    ['accept', 'text/html,application/xhtml+xml'],
    ['accept-encoding', 'gzip, deflate, br'],
    ['cookie', 'session=0123456789abcdef0123456789'],
  ],
  [
    [':method', 'POST'],
    [':scheme', 'https'],
    [':authority', 'api.example.com'],
    [':path', '/v1/upload?x=1'],
    ['content-type', 'application/json'],
    ['content-length', '11'],
  ],
];
const RESPONSE_HEADERS: Array<Array<[string, string]>> = [
  [
    [':status', '200'],
    ['content-type', 'text/html; charset=utf-8'],
    ['cache-control', 'max-age=3600'],
    ['server', 'bench'],
  ],
  [[':status', '404'], ['content-length', '0']],
];

interface Corpus {
  request: Uint8Array[];
  response: Uint8Array[];
  control: Uint8Array[];
  encoderStream: Uint8Array[];
}

/** Valid sequences per stream kind, from real header lists (static-only and dynamic-table encodings). */
function buildCorpus(): Corpus {
  const corpus: Corpus = { request: [], response: [], control: [], encoderStream: [] };
  for (const capacity of [0, 4096]) {
    const qpack = new QpackEncoder({ maxTableCapacity: capacity });
    qpack.applyPeerSettings({ maxTableCapacity: capacity, maxBlockedStreams: 16 });
    let id = 0;
    for (const headers of REQUEST_HEADERS) {
      for (let repeat = 0; repeat < 2; repeat++, id += 4) {
        const section = qpack.encodeFieldSection(id, headers);
        corpus.request.push(
          concat([
            encodeHeadersFrame(section),
            encodeFrame(reservedCode(id), enc.encode('grease')),
            encodeDataFrame(enc.encode('hello world')),
            encodeHeadersFrame(qpack.encodeFieldSection(id, [['x-trailer', 'done']])),
          ]),
        );
      }
    }
    for (const headers of RESPONSE_HEADERS) {
      const section = qpack.encodeFieldSection(id, headers);
      corpus.response.push(concat([encodeHeadersFrame(section), encodeDataFrame(new Uint8Array(300).fill(0x41)), encodeDataFrame(new Uint8Array(0))]));
      corpus.response.push(concat([encodePushPromiseFrame(1, section), encodeHeadersFrame(section)]));
      id += 4;
    }
    corpus.encoderStream.push(qpack.takeEncoderStreamData());
  }
  corpus.control.push(
    concat([
      encodeSettingsFrame([
        [0x01, 4096],
        [0x07, 100],
        [0x06, 65536],
        [reservedCode(77), 5],
      ]),
      encodeFrame(reservedCode(3), new Uint8Array(4)),
      encodeMaxPushIdFrame(8),
      encodeGoawayFrame(40),
      encodeGoawayFrame(4),
      encodeCancelPushFrame(2),
    ]),
  );
  corpus.control.push(encodeSettingsFrame([]));
  return corpus;
}

/** A frame of any type (known, HTTP/2-only, reserved, random) with a length that may lie. */
function randomFrame(rand: () => number): Uint8Array {
  const pick = rand();
  const type =
    pick < 0.5
      ? [0x00, 0x01, 0x03, 0x04, 0x05, 0x07, 0x0d][Math.floor(rand() * 7)]!
      : pick < 0.6
        ? [0x02, 0x06, 0x08, 0x09][Math.floor(rand() * 4)]!
        : pick < 0.8
          ? reservedCode(Math.floor(rand() * 1000))
          : Math.floor(rand() * 2 ** (rand() < 0.5 ? 8 : 30));
  const payload = new Uint8Array(Math.floor(rand() * (rand() < 0.9 ? 16 : 600)));
  for (let i = 0; i < payload.length; i++) payload[i] = Math.floor(rand() * 256);
  if (rand() < 0.8) return encodeFrame(type, payload);
  // A length that does not match the payload, sometimes huge.
  const length = rand() < 0.5 ? Math.floor(rand() * 64) : Math.floor(rand() * 2 ** 40);
  return concat([encodeFrameHeader(type, length), payload]);
}

const INTERESTING_VARINTS = [0, 1, 0x3f, 0x40, 0x3fff, 0x4000, 0x3fffffff, 0x40000000, 2 ** 53 - 1];

function mutate(rand: () => number, input: Uint8Array, corpus: Uint8Array[]): Uint8Array {
  let bytes = input.slice();
  const count = 1 + Math.floor(rand() * 4);
  for (let m = 0; m < count; m++) {
    const at = Math.floor(rand() * (bytes.length + 1));
    switch (Math.floor(rand() * 8)) {
      case 0: // flip a bit
        if (bytes.length) bytes[at % bytes.length]! ^= 1 << Math.floor(rand() * 8);
        break;
      case 1: // set a byte
        if (bytes.length) bytes[at % bytes.length] = Math.floor(rand() * 256);
        break;
      case 2: // insert random bytes
        bytes = concat([bytes.subarray(0, at), Uint8Array.from({ length: 1 + Math.floor(rand() * 8) }, () => Math.floor(rand() * 256)), bytes.subarray(at)]);
        break;
      case 3: // delete a range
        bytes = concat([bytes.subarray(0, at), bytes.subarray(at + 1 + Math.floor(rand() * 16))]);
        break;
      case 4: // truncate
        bytes = bytes.subarray(0, at);
        break;
      case 5: // duplicate a range
        bytes = concat([bytes.subarray(0, at), bytes.subarray(at, at + Math.floor(rand() * 32)), bytes.subarray(at)]);
        break;
      case 6: // insert an interesting varint
        bytes = concat([bytes.subarray(0, at), encodeVarint(INTERESTING_VARINTS[Math.floor(rand() * INTERESTING_VARINTS.length)]!), bytes.subarray(at)]);
        break;
      default: {
        // splice with another corpus entry or a random frame
        const other = rand() < 0.5 && corpus.length ? corpus[Math.floor(rand() * corpus.length)]! : randomFrame(rand);
        bytes = concat([bytes.subarray(0, at), other.subarray(Math.floor(rand() * other.length))]);
      }
    }
  }
  return bytes;
}

function generate(rand: () => number, corpus: Uint8Array[]): Uint8Array {
  const r = rand();
  if (r < 0.15) return concat(Array.from({ length: 1 + Math.floor(rand() * 5) }, () => randomFrame(rand)));
  const base = corpus[Math.floor(rand() * corpus.length)]!;
  return r < 0.25 ? base : mutate(rand, base, corpus);
}

/** Splits input into random chunks. */
function chunks(rand: () => number, input: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let at = 0; at < input.length; ) {
    const size = rand() < 0.3 ? 1 + Math.floor(rand() * 3) : 1 + Math.floor(rand() * 64);
    out.push(input.slice(at, at + size));
    at += size;
  }
  return out;
}

function countError(stats: FrameFuzzStats, e: unknown): void {
  if (!(e instanceof H3Error)) throw e;
  const name = h3ErrorName(e.code);
  stats.errors[name] = (stats.errors[name] ?? 0) + 1;
}

function fuzzReader(rand: () => number, corpus: Corpus, stats: FrameFuzzStats): void {
  const kinds: FrameStreamKind[] = ['control', 'request', 'response'];
  const kind = kinds[Math.floor(rand() * 3)]!;
  const source = kind === 'control' ? corpus.control : kind === 'request' ? corpus.request : corpus.response;
  const input = generate(rand, source);
  const reader = new FrameReader(kind, LIMITS);
  let pushed = 0;
  try {
    for (const chunk of chunks(rand, input)) {
      reader.push(chunk);
      pushed += chunk.length;
      if (reader.buffered > stats.maxReaderBuffered) stats.maxReaderBuffered = reader.buffered;
      // Each event consumes input or ends a frame: more steps than 2 per byte (+ slack) means a loop.
      let steps = 0;
      const maxData = rand() < 0.5 ? Infinity : 1 + Math.floor(rand() * 16);
      for (let ev = reader.next(maxData); ev; ev = reader.next(maxData)) {
        if (++steps > 2 * pushed + 16) throw new Error(`frame reader made no progress (state ${reader.stateName})`);
        if (ev.kind === 'frame' && 'fieldSection' in ev.frame && ev.frame.fieldSection.length > LIMITS.maxFieldSectionFrame) {
          throw new Error(`field section of ${ev.frame.fieldSection.length} bytes passed the limit`);
        }
      }
      if (reader.buffered > pushed) throw new Error('reader holds more than it was given');
    }
    stats.readerAccepted++;
  } catch (e) {
    countError(stats, e);
  }
}

/** Our connection (either role) against a peer writing mutated streams. */
function fuzzConnection(rand: () => number, corpus: Corpus, stats: FrameFuzzStats): void {
  const isServer = rand() < 0.6;
  const pipe = new Pipe({ maxRead: rand() < 0.5 ? 1 + Math.floor(rand() * 20) : Infinity, streamWindow: rand() < 0.3 ? 64 : 1 << 16, maxBidiStreams: 8 });
  const conn = new H3Connection(isServer ? pipe.server : pipe.client, {
    isServer,
    grease: rand() < 0.5,
    qpackMaxTableCapacity: rand() < 0.3 ? 0 : 4096,
    qpackBlockedStreams: Math.floor(rand() * 4),
    maxFieldSectionSize: rand() < 0.3 ? 200 : undefined,
    frameLimits: LIMITS,
  });
  const raw = isServer ? pipe.client : pipe.server;
  const peerUni = (n: number) => (isServer ? 2 : 3) + 4 * n;
  const send = (id: number, bytes: Uint8Array, fin: boolean) => {
    try {
      raw.streamSend(id, bytes, fin);
    } catch {
      // Flow control or limits of the pipe: the peer simply could not send it.
    }
  };
  // The peer's critical streams, usually valid, sometimes mutated.
  const control = concat([Uint8Array.of(0x00), corpus.control[Math.floor(rand() * corpus.control.length)]!]);
  send(peerUni(0), rand() < 0.7 ? control : mutate(rand, control, corpus.control), rand() < 0.05);
  const encoderStream = concat([Uint8Array.of(0x02), corpus.encoderStream[Math.floor(rand() * corpus.encoderStream.length)]!]);
  send(peerUni(1), rand() < 0.7 ? encoderStream : mutate(rand, encoderStream, corpus.encoderStream), false);
  if (rand() < 0.5) send(peerUni(2), rand() < 0.8 ? Uint8Array.of(0x03) : mutate(rand, Uint8Array.of(0x03, 0x80), []), false);
  if (rand() < 0.2) send(peerUni(3), generate(rand, corpus.control), rand() < 0.5);
  // Requests (client peer) or responses to our requests (server peer).
  const ourRequests: number[] = [];
  if (!isServer) {
    for (let i = 0; i < 1 + Math.floor(rand() * 3); i++) {
      try {
        ourRequests.push(conn.sendRequest(REQUEST_HEADERS[i % 2]!, rand() < 0.5));
      } catch (e) {
        countError(stats, e);
      }
    }
  }
  const streamCount = 1 + Math.floor(rand() * 4);
  for (let i = 0; i < streamCount; i++) {
    const id = isServer ? 4 * Math.floor(rand() * 6) : ourRequests[i % Math.max(ourRequests.length, 1)] ?? 0;
    send(id, generate(rand, isServer ? corpus.request : corpus.response), rand() < 0.7);
    if (rand() < 0.1) raw.streamShutdown(id, rand() < 0.5 ? 'write' : 'read', 0x10c);
  }
  const buf = new Uint8Array(1 + Math.floor(rand() * 512));
  const app = (ev: H3Event) => {
    try {
      if (ev.type === 'data') while (conn.recvBody(ev.streamId, buf) > 0);
      else if (ev.type === 'headers' && isServer && !ev.trailers && !ev.informational) {
        conn.sendResponse(ev.streamId, [[':status', '200']], false);
        conn.sendBody(ev.streamId, new Uint8Array(100), true);
      }
    } catch (e) {
      // The stream may have been reset after its event was queued: typed errors only.
      countError(stats, e);
    }
  };
  for (let round = 0; round < 6; round++) {
    pipe.deliver();
    conn.process(); // must never throw: protocol errors are handled inside
    for (let ev = conn.poll(); ev; ev = conn.poll()) {
      if (ev.type === 'connection-error') countError(stats, ev.error);
      app(ev);
    }
  }
  if (conn.openStreams > 16) throw new Error(`connection tracks ${conn.openStreams} streams after a handful of requests`);
  if (conn.error) stats.connectionsClosed++;
  else stats.connectionsOpen++;
}

export function fuzzFrames(iterations: number, seed: number, opts: { connectionShare?: number } = {}): FrameFuzzStats {
  const rand = seededRandom(seed);
  const corpus = buildCorpus();
  const share = opts.connectionShare ?? 0.05;
  const stats: FrameFuzzStats = {
    iterations,
    elapsedMs: 0,
    readerInputs: 0,
    connectionInputs: 0,
    readerAccepted: 0,
    errors: {},
    connectionsClosed: 0,
    connectionsOpen: 0,
    maxReaderBuffered: 0,
    heapUsedMb: 0,
  };
  const start = performance.now();
  for (let i = 0; i < iterations; i++) {
    if (rand() < share) {
      stats.connectionInputs++;
      fuzzConnection(rand, corpus, stats);
    } else {
      stats.readerInputs++;
      fuzzReader(rand, corpus, stats);
    }
  }
  stats.elapsedMs = performance.now() - start;
  stats.heapUsedMb = Math.round(process.memoryUsage().heapUsed / 2 ** 20);
  return stats;
}
