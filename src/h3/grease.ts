/**
 * GREASE (RFC 9114 section 7.2.8, 6.2.3): reserved setting, frame and stream types sent at random
 * so that peers keep ignoring what they do not know, as the RFC requires of them.
 */
import { encodeFrame, reservedCode } from './frames.ts';
import { StreamSendBuffer } from './stream-send-buffer.ts';
import { isStreamIOError, type QuicStreamIO } from './transport.ts';
import { encodeVarint } from './varint.ts';

const GREASE_MAX_N = 1 << 16;

/** A reserved setting with a random value. */
export function greaseSetting(): [number, number] {
  return [reservedCode(randomInt(GREASE_MAX_N)), randomInt(1 << 30)];
}

/** A reserved frame type with up to 8 random bytes. */
export function greaseFrame(): Uint8Array {
  return encodeFrame(reservedCode(randomInt(GREASE_MAX_N)), randomBytes(randomInt(9)));
}

/**
 * A unidirectional stream of a reserved type, a few random bytes and the fin. The peer must
 * ignore it; if it stops it instead, we drop what is left (it is no critical stream).
 */
export class GreaseStream {
  private readonly out: StreamSendBuffer;

  constructor(
    private readonly io: QuicStreamIO,
    streamId: number,
  ) {
    this.out = new StreamSendBuffer(streamId);
    const type = encodeVarint(reservedCode(randomInt(GREASE_MAX_N)));
    this.out.write(io, concatBytes([type, randomBytes(8)]), true, false);
  }

  flush(): void {
    if (this.out.isEmpty) return;
    try {
      this.out.flush(this.io);
    } catch (e) {
      if (!isStreamIOError(e)) throw e;
      this.out.clear();
    }
  }
}

export function concatBytes(parts: Uint8Array[]): Uint8Array {
  let size = 0;
  for (const p of parts) size += p.length;
  const out = new Uint8Array(size);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function randomInt(below: number): number {
  return Math.floor(Math.random() * below);
}

function randomBytes(n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = randomInt(256);
  return out;
}
