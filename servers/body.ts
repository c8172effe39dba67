/**
 * Response bodies (ResponseBody) for the handler and the listeners. A text or page body is one
 * buffer; a /bytes body of any length is a run of views of one preallocated piece of its periodic
 * pattern, so a 1 GiB download costs the server no more memory than a 1 MB one.
 */
import type { ResponseBody } from './handler-types.ts';

/**
 * Largest piece of a pattern body, what the H1/H2 listeners hand their stream in one write. Node's
 * TLS encrypts a write whole, so this bounds what a response holds in memory beyond the shared
 * pattern; it is large enough that a write per piece costs nothing next to the bytes.
 */
export const PATTERN_PIECE_BYTES = 256 * 1024;

/** 251 is prime, so a slice from the wrong offset cannot look right. */
const PATTERN_PERIOD = 251;

/** The byte at offset i of every /bytes body. */
export function patternByte(i: number): number {
  return i % PATTERN_PERIOD;
}

export function bufferBody(bytes: Uint8Array): ResponseBody {
  return { byteLength: bytes.byteLength, pieceAt: (offset) => bytes.subarray(offset) };
}

export function textBody(text: string): ResponseBody {
  return bufferBody(Buffer.from(text));
}

/**
 * A maker of pattern bodies: `(first, length)` is the pattern's bytes first..first+length-1 (a
 * whole body from 0, a range from its first byte). All of them share one buffer of a piece and a
 * period, allocated here: a piece from any offset is the view that starts at that offset's phase.
 */
export function patternBodies(pieceBytes = PATTERN_PIECE_BYTES): (first: number, length: number) => ResponseBody {
  const pattern = Buffer.allocUnsafeSlow(pieceBytes + PATTERN_PERIOD - 1);
  pattern.fill(Buffer.from(Array.from({ length: PATTERN_PERIOD }, (_, i) => patternByte(i))));
  return (first, length) => ({
    byteLength: length,
    pieceAt(offset) {
      const phase = (first + offset) % PATTERN_PERIOD;
      return pattern.subarray(phase, phase + Math.max(0, Math.min(pieceBytes, length - offset)));
    },
  });
}

/** The pieces of a body, in order. */
export function* bodyPieces(body: ResponseBody): Generator<Uint8Array> {
  for (let offset = 0; offset < body.byteLength; ) {
    const piece = body.pieceAt(offset);
    offset += piece.byteLength;
    yield piece;
  }
}

/** The whole body in one buffer: for the small ones read as text (pages, messages) and for tests. */
export function bodyBytes(body: ResponseBody): Buffer {
  return Buffer.concat([...bodyPieces(body)]);
}

/** Whether two bodies hold the same bytes, compared piece by piece (their pieces may be cut differently). */
export function sameBody(a: ResponseBody, b: ResponseBody): boolean {
  if (a.byteLength !== b.byteLength) return false;
  for (let offset = 0; offset < a.byteLength; ) {
    const x = a.pieceAt(offset);
    const y = b.pieceAt(offset);
    const n = Math.min(x.byteLength, y.byteLength);
    if (Buffer.compare(x.subarray(0, n), y.subarray(0, n)) !== 0) return false;
    offset += n;
  }
  return true;
}
