/**
 * The contract between the HTTP/3 layer and the QUIC transport beneath it.
 *
 * H3Connection does no I/O: it calls these methods to move stream bytes and is told (by the
 * endpoint calling `process()`) when streams became readable or writable. Semantics follow
 * quiche's stream API: stream IDs per RFC 9000 section 2.1 (client bidi 0,4,8,..., server bidi
 * 1,5,9,..., client uni 2,6,..., server uni 3,7,...); a locally initiated stream is opened by the
 * first send on it.
 *
 * src/quic's QuicConnection satisfies this interface structurally (no adapter needed);
 * test/h3/pipe.ts implements it in memory for tests.
 */

export interface QuicStreamIO {
  /**
   * Queues bytes on a stream. Returns how many were accepted: fewer than data.length (possibly
   * 0) when flow or congestion control limits the stream; the caller keeps the rest and retries
   * once the stream is writable. A fin is only taken when all of data was accepted.
   * Throws a StreamIOError (see isStreamIOError) when the peer stopped the stream (STOP_SENDING)
   * or the stream is otherwise unusable.
   */
  streamSend(streamId: number, data: Uint8Array, fin: boolean): number;

  /**
   * Reads received bytes into buf. Returns undefined when nothing is readable now; otherwise the
   * bytes copied and whether the stream's final byte has been read. Throws a StreamIOError
   * with kind 'reset' when the peer reset the stream (RESET_STREAM).
   */
  streamRecv(streamId: number, buf: Uint8Array): { length: number; fin: boolean } | undefined;

  /** 'read': STOP_SENDING; 'write': RESET_STREAM; both with an application error code. Never throws. */
  streamShutdown(streamId: number, direction: 'read' | 'write', code: number): void;

  /**
   * RFC 9218 priority of a stream we send on (urgency 0 most urgent to 7; incremental: takes turns
   * with streams of the same urgency instead of going one after the other). Advisory: never
   * throws; false when the transport does not know the stream yet (no byte of it taken).
   */
  streamPriority(streamId: number, urgency: number, incremental: boolean): boolean;

  /** Bytes the stream can take now. Throws a StreamIOError when the stream is stopped or gone. */
  streamCapacity(streamId: number): number;

  /** Streams with data (or a fin, or a reset) to read. */
  readableStreams(): Iterable<number>;

  /** How many more bidirectional streams we may open (the peer's MAX_STREAMS). */
  peerStreamsLeftBidi(): number;

  /** How many more unidirectional streams we may open. */
  peerStreamsLeftUni(): number;

  /**
   * Closes the connection with CONNECTION_CLOSE. HTTP/3 errors use app: true with an H3 error
   * code (RFC 9114 section 8.1). The return value (e.g. a promise) is ignored.
   */
  close(opts: { app?: boolean; code?: number; reason?: string }): unknown;
}

/** Why a stream call failed: reset/stopped by the peer (with its code), or another reason. */
export interface StreamIOError {
  readonly streamId: number;
  readonly kind: 'reset' | 'stopped' | 'other';
  readonly code: number | undefined;
}

/** True for errors thrown by a QuicStreamIO stream method (QuicStreamError, StreamIOFailure). */
export function isStreamIOError(e: unknown): e is StreamIOError & Error {
  if (!(e instanceof Error)) return false;
  const k = (e as Partial<StreamIOError>).kind;
  return (k === 'reset' || k === 'stopped' || k === 'other') && typeof (e as Partial<StreamIOError>).streamId === 'number';
}

/** A StreamIOError for QuicStreamIO implementations that have no error class of their own. */
export class StreamIOFailure extends Error implements StreamIOError {
  constructor(
    readonly streamId: number,
    readonly kind: 'reset' | 'stopped' | 'other',
    readonly code: number | undefined,
    message = `stream ${streamId} ${kind}${code === undefined ? '' : ` (${code})`}`,
  ) {
    super(message);
    this.name = 'StreamIOFailure';
  }
}

// RFC 9000 section 2.1: the two low bits of a stream ID.
export const isBidi = (streamId: number): boolean => (streamId & 0x2) === 0;
export const isUni = (streamId: number): boolean => (streamId & 0x2) !== 0;
export const isClientInitiated = (streamId: number): boolean => (streamId & 0x1) === 0;
export const isServerInitiated = (streamId: number): boolean => (streamId & 0x1) !== 0;
/** Whether the stream was opened by the peer of an endpoint in the given role. */
export const isPeerInitiated = (streamId: number, isServer: boolean): boolean =>
  isServer ? isClientInitiated(streamId) : isServerInitiated(streamId);
