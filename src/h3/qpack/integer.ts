/**
 * Appends a prefixed integer (RFC 7541 Section 5.1). `firstByteBits` are the instruction's
 * pattern bits above the prefix, already positioned (e.g. 0x80 for `1xxxxxxx`).
 */
export function writeInteger(out: number[], value: number, prefixBits: number, firstByteBits: number): void {
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`cannot encode integer ${value}`);
  const prefixMax = (1 << prefixBits) - 1;
  if (value < prefixMax) {
    out.push(firstByteBits | value);
    return;
  }
  out.push(firstByteBits | prefixMax);
  let rest = value - prefixMax;
  while (rest >= 128) {
    out.push((rest % 128) | 0x80);
    rest = Math.floor(rest / 128);
  }
  out.push(rest);
}
