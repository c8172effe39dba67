/** QPACK error codes (RFC 9204 Section 6), carried by HTTP/3 connection errors. */
export const QPACK_DECOMPRESSION_FAILED = 0x200;
export const QPACK_ENCODER_STREAM_ERROR = 0x201;
export const QPACK_DECODER_STREAM_ERROR = 0x202;

export type QpackErrorCode =
  | typeof QPACK_DECOMPRESSION_FAILED
  | typeof QPACK_ENCODER_STREAM_ERROR
  | typeof QPACK_DECODER_STREAM_ERROR;

const CODE_NAMES: Record<QpackErrorCode, string> = {
  [QPACK_DECOMPRESSION_FAILED]: 'QPACK_DECOMPRESSION_FAILED',
  [QPACK_ENCODER_STREAM_ERROR]: 'QPACK_ENCODER_STREAM_ERROR',
  [QPACK_DECODER_STREAM_ERROR]: 'QPACK_DECODER_STREAM_ERROR',
};

/** A protocol error found in QPACK input; `code` is the HTTP/3 connection error code to close with. */
export class QpackError extends Error {
  readonly code: QpackErrorCode;
  constructor(code: QpackErrorCode, message: string) {
    super(`${CODE_NAMES[code]}: ${message}`);
    this.name = 'QpackError';
    this.code = code;
  }
}

/**
 * The decoded field section is larger than the decoder's maxFieldSectionSize. Not a QPACK
 * protocol error: the section was still acknowledged, so the connection stays usable and the
 * HTTP/3 layer can refuse just that message (RFC 9114 Section 4.2.2).
 */
export class FieldSectionTooLargeError extends QpackError {
  readonly limit: number;
  constructor(limit: number) {
    super(QPACK_DECOMPRESSION_FAILED, `field section exceeds the limit of ${limit} bytes`);
    this.name = 'FieldSectionTooLargeError';
    this.limit = limit;
  }
}
