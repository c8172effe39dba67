export {
  QpackError,
  FieldSectionTooLargeError,
  QPACK_DECOMPRESSION_FAILED,
  QPACK_ENCODER_STREAM_ERROR,
  QPACK_DECODER_STREAM_ERROR,
  type QpackErrorCode,
} from './errors.ts';
export { QpackDecoder, type QpackDecoderOptions, type DecodeResult, type HeaderList } from './decoder.ts';
export { STATIC_TABLE, staticExactIndex, staticNameIndex } from './static-table.ts';
export { huffmanDecode, huffmanEncode, huffmanEncodedLength, HUFFMAN_CODES, HUFFMAN_CODE_LENGTHS, HUFFMAN_EOS } from './huffman.ts';
export { writeInteger } from '../../fields/integer.ts';
export { Reader, Incomplete, MAX_PREFIXED_INTEGER } from './reader.ts';
export { readStringLiteral, writeStringLiteral, bytesToString, stringToBytes, type HuffmanPolicy } from './string-literal.ts';
export { DynamicTable, ENTRY_OVERHEAD, entrySize, type TableEntry } from './dynamic-table.ts';
export {
  encodeRequiredInsertCount,
  decodeRequiredInsertCount,
  readFieldSectionPrefix,
  writeFieldSectionPrefix,
  maxEntries,
} from './field-section-prefix.ts';
export * from './instructions.ts';
export { QpackEncoder, DEFAULT_MAX_TABLE_CAPACITY, defaultIsSensitive, type QpackEncoderOptions, type PeerSettings } from './encoder.ts';
