/**
 * The HPACK Huffman code as QPACK uses it: the code itself lives in src/fields/huffman.ts (shared
 * with HPACK); here malformed input becomes a QpackError with the caller's code.
 */
import { huffmanDecode as decodeHuffman } from '../../fields/huffman.ts';
import { QpackError, QPACK_DECOMPRESSION_FAILED, type QpackErrorCode } from './errors.ts';

export { huffmanEncode, huffmanEncodedLength, HUFFMAN_CODES, HUFFMAN_CODE_LENGTHS, HUFFMAN_EOS } from '../../fields/huffman.ts';

/**
 * Decodes a Huffman-coded string (RFC 7541 Section 5.2). Rejects an encoded EOS, padding longer
 * than 7 bits and padding that is not the prefix of EOS, as the RFC requires.
 */
export function huffmanDecode(bytes: Uint8Array, errorCode: QpackErrorCode = QPACK_DECOMPRESSION_FAILED): Uint8Array {
  return decodeHuffman(bytes, (reason) => {
    throw new QpackError(errorCode, reason);
  });
}
