/** HTTP/3 error codes (RFC 9114 section 8.1) and the one error type the HTTP/3 layer throws. */
import {
  QPACK_DECODER_STREAM_ERROR,
  QPACK_DECOMPRESSION_FAILED,
  QPACK_ENCODER_STREAM_ERROR,
} from './qpack/errors.ts';

export { QPACK_DECOMPRESSION_FAILED, QPACK_ENCODER_STREAM_ERROR, QPACK_DECODER_STREAM_ERROR };

export const H3_NO_ERROR = 0x100;
export const H3_GENERAL_PROTOCOL_ERROR = 0x101;
export const H3_INTERNAL_ERROR = 0x102;
export const H3_STREAM_CREATION_ERROR = 0x103;
export const H3_CLOSED_CRITICAL_STREAM = 0x104;
export const H3_FRAME_UNEXPECTED = 0x105;
export const H3_FRAME_ERROR = 0x106;
export const H3_EXCESSIVE_LOAD = 0x107;
export const H3_ID_ERROR = 0x108;
export const H3_SETTINGS_ERROR = 0x109;
export const H3_MISSING_SETTINGS = 0x10a;
export const H3_REQUEST_REJECTED = 0x10b;
export const H3_REQUEST_CANCELLED = 0x10c;
export const H3_REQUEST_INCOMPLETE = 0x10d;
export const H3_MESSAGE_ERROR = 0x10e;
export const H3_CONNECT_ERROR = 0x10f;
export const H3_VERSION_FALLBACK = 0x110;

const NAMES: ReadonlyMap<number, string> = new Map([
  [H3_NO_ERROR, 'H3_NO_ERROR'],
  [H3_GENERAL_PROTOCOL_ERROR, 'H3_GENERAL_PROTOCOL_ERROR'],
  [H3_INTERNAL_ERROR, 'H3_INTERNAL_ERROR'],
  [H3_STREAM_CREATION_ERROR, 'H3_STREAM_CREATION_ERROR'],
  [H3_CLOSED_CRITICAL_STREAM, 'H3_CLOSED_CRITICAL_STREAM'],
  [H3_FRAME_UNEXPECTED, 'H3_FRAME_UNEXPECTED'],
  [H3_FRAME_ERROR, 'H3_FRAME_ERROR'],
  [H3_EXCESSIVE_LOAD, 'H3_EXCESSIVE_LOAD'],
  [H3_ID_ERROR, 'H3_ID_ERROR'],
  [H3_SETTINGS_ERROR, 'H3_SETTINGS_ERROR'],
  [H3_MISSING_SETTINGS, 'H3_MISSING_SETTINGS'],
  [H3_REQUEST_REJECTED, 'H3_REQUEST_REJECTED'],
  [H3_REQUEST_CANCELLED, 'H3_REQUEST_CANCELLED'],
  [H3_REQUEST_INCOMPLETE, 'H3_REQUEST_INCOMPLETE'],
  [H3_MESSAGE_ERROR, 'H3_MESSAGE_ERROR'],
  [H3_CONNECT_ERROR, 'H3_CONNECT_ERROR'],
  [H3_VERSION_FALLBACK, 'H3_VERSION_FALLBACK'],
  [QPACK_DECOMPRESSION_FAILED, 'QPACK_DECOMPRESSION_FAILED'],
  [QPACK_ENCODER_STREAM_ERROR, 'QPACK_ENCODER_STREAM_ERROR'],
  [QPACK_DECODER_STREAM_ERROR, 'QPACK_DECODER_STREAM_ERROR'],
]);

/** The RFC name of an error code ("H3_FRAME_ERROR"), or hex for codes we do not know (GREASE, extensions). */
export function h3ErrorName(code: number): string {
  return NAMES.get(code) ?? `0x${code.toString(16)}`;
}

/**
 * A protocol error found by the HTTP/3 layer. scope 'stream': only that request stream is
 * aborted (RFC 9114 section 8); scope 'connection': the connection is closed with `code`.
 */
export class H3Error extends Error {
  constructor(
    readonly code: number,
    readonly scope: 'stream' | 'connection',
    message: string,
    /** The stream the error was found on, if any. */
    readonly streamId?: number,
  ) {
    super(`${h3ErrorName(code)}: ${message}`);
    this.name = 'H3Error';
  }
}

/** Shorthand for the common case: an error that closes the connection. */
export const connectionError = (code: number, message: string, streamId?: number): H3Error =>
  new H3Error(code, 'connection', message, streamId);

/** Shorthand for an error that aborts one request stream. */
export const streamError = (code: number, message: string, streamId?: number): H3Error =>
  new H3Error(code, 'stream', message, streamId);
