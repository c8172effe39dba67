/**
 * The HPACK Huffman code (RFC 7541 Section 5.2, Appendix B), shared by HPACK (src/h2/hpack.ts) and
 * QPACK (src/h3/qpack/). Pure: malformed input goes to the caller's `fail`, which throws that
 * protocol's own error.
 */

/** Throws the caller's protocol error for malformed input (never returns). */
export type FieldCodingFail = (reason: string) => never;

/**
 * Code lengths of the HPACK Huffman code (RFC 7541 Appendix B) for symbols 0..255 and EOS (256).
 * The code is canonical: codes of one length are consecutive in symbol order and shorter codes
 * come first, so the lengths alone determine every code (checked against the appendix in tests).
 */
const CODE_LENGTHS: readonly number[] = [
  13, 23, 28, 28, 28, 28, 28, 28, 28, 24, 30, 28, 28, 30, 28, 28,
  28, 28, 28, 28, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 28,
  6, 10, 10, 12, 13, 6, 8, 11, 10, 10, 8, 11, 8, 6, 6, 6,
  5, 5, 5, 6, 6, 6, 6, 6, 6, 6, 7, 8, 15, 6, 12, 10,
  13, 6, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7,
  7, 7, 7, 7, 7, 7, 7, 7, 8, 7, 8, 13, 19, 13, 14, 6,
  15, 5, 6, 5, 6, 5, 6, 6, 6, 5, 7, 7, 6, 6, 6, 5,
  6, 7, 6, 5, 5, 6, 7, 7, 7, 7, 7, 15, 11, 14, 13, 28,
  20, 22, 20, 20, 22, 22, 22, 23, 22, 23, 23, 23, 23, 23, 24, 23,
  24, 24, 22, 23, 24, 23, 23, 23, 23, 21, 22, 23, 22, 23, 23, 24,
  22, 21, 20, 22, 22, 23, 23, 21, 23, 22, 22, 24, 21, 22, 23, 23,
  21, 21, 22, 21, 23, 22, 23, 23, 20, 22, 22, 22, 23, 22, 22, 23,
  26, 26, 20, 19, 22, 23, 22, 25, 26, 26, 26, 27, 27, 26, 24, 25,
  19, 21, 26, 27, 27, 26, 27, 24, 21, 21, 26, 26, 28, 27, 27, 27,
  20, 24, 20, 21, 22, 21, 21, 23, 22, 22, 25, 25, 24, 24, 26, 23,
  26, 27, 26, 26, 27, 27, 27, 27, 27, 28, 27, 27, 27, 27, 27, 26,
  30,
];

export const HUFFMAN_EOS = 256;

/** Code bits per symbol, right-aligned (`HUFFMAN_CODES[i]` has `HUFFMAN_CODE_LENGTHS[i]` bits). */
export const HUFFMAN_CODES: readonly number[] = canonicalCodes(CODE_LENGTHS);
export const HUFFMAN_CODE_LENGTHS: readonly number[] = CODE_LENGTHS;

function canonicalCodes(lengths: readonly number[]): number[] {
  const symbols = lengths.map((length, symbol) => ({ length, symbol }));
  symbols.sort((a, b) => a.length - b.length || a.symbol - b.symbol);
  const codes = new Array<number>(lengths.length).fill(0);
  let code = 0;
  let length = symbols[0]!.length;
  for (const entry of symbols) {
    code *= 2 ** (entry.length - length);
    length = entry.length;
    codes[entry.symbol] = code;
    code++;
  }
  return codes;
}

/**
 * Decoding tree: node n has children at [2n] (bit 0) and [2n+1] (bit 1). A value >= 0 is the
 * next internal node; a negative value -(symbol + 1) is a leaf.
 */
const TREE: Int32Array = buildTree();

function buildTree(): Int32Array {
  const tree = new Int32Array(2 * 256).fill(0);
  let nextNode = 1;
  for (let symbol = 0; symbol <= HUFFMAN_EOS; symbol++) {
    const code = HUFFMAN_CODES[symbol]!;
    const length = CODE_LENGTHS[symbol]!;
    let node = 0;
    for (let i = length - 1; i >= 0; i--) {
      const bit = Math.floor(code / 2 ** i) & 1;
      const slot = 2 * node + bit;
      if (i === 0) {
        tree[slot] = -(symbol + 1);
      } else {
        if (tree[slot] === 0) tree[slot] = nextNode++;
        node = tree[slot]!;
      }
    }
  }
  return tree;
}

/** Length in bytes of the Huffman encoding of `bytes`, padding included. */
export function huffmanEncodedLength(bytes: Uint8Array): number {
  let bits = 0;
  for (let i = 0; i < bytes.length; i++) bits += CODE_LENGTHS[bytes[i]!]!;
  return Math.ceil(bits / 8);
}

/** Appends the Huffman encoding of `bytes`, padded with the most significant bits of EOS (ones). */
export function huffmanEncode(bytes: Uint8Array, out: number[]): void {
  // At most 7 pending bits plus a 30-bit code: exact in a double, so plain arithmetic is safe.
  let acc = 0;
  let pending = 0;
  for (let i = 0; i < bytes.length; i++) {
    const symbol = bytes[i]!;
    const length = CODE_LENGTHS[symbol]!;
    acc = acc * 2 ** length + HUFFMAN_CODES[symbol]!;
    pending += length;
    while (pending >= 8) {
      pending -= 8;
      const scale = 2 ** pending;
      const byte = Math.floor(acc / scale);
      out.push(byte);
      acc -= byte * scale;
    }
  }
  if (pending > 0) out.push(((acc << (8 - pending)) | (0xff >> pending)) & 0xff);
}

/**
 * Decodes a Huffman-coded string (RFC 7541 Section 5.2). Rejects an encoded EOS, padding longer
 * than 7 bits and padding that is not the prefix of EOS, as the RFC requires.
 */
export function huffmanDecode(bytes: Uint8Array, fail: FieldCodingFail): Uint8Array {
  // Shortest code is 5 bits, so the output is at most 8/5 of the input.
  const out = new Uint8Array(Math.floor((bytes.length * 8) / 5));
  let written = 0;
  let node = 0;
  let depth = 0; // bits read since the last complete symbol
  let onesOnly = true; // those bits are all ones (a prefix of EOS)
  for (let i = 0; i < bytes.length; i++) {
    const byte = bytes[i]!;
    for (let shift = 7; shift >= 0; shift--) {
      const bit = (byte >> shift) & 1;
      const next = TREE[2 * node + bit]!;
      if (next < 0) {
        const symbol = -next - 1;
        if (symbol === HUFFMAN_EOS) fail('Huffman string contains EOS');
        out[written++] = symbol;
        node = 0;
        depth = 0;
        onesOnly = true;
      } else {
        node = next;
        depth++;
        if (bit === 0) onesOnly = false;
      }
    }
  }
  if (depth > 7) fail('Huffman padding longer than 7 bits');
  if (!onesOnly) fail('Huffman padding is not all ones');
  return out.subarray(0, written);
}
