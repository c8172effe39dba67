/** Unidirectional stream types (RFC 9114 section 6.2, RFC 9204 section 4.2). */
import { varintSizeFromFirstByte, readVarintAt } from './varint.ts';

export const STREAM_TYPE_CONTROL = 0x00;
export const STREAM_TYPE_PUSH = 0x01;
export const STREAM_TYPE_QPACK_ENCODER = 0x02;
export const STREAM_TYPE_QPACK_DECODER = 0x03;

/**
 * Collects one varint from input split anywhere (a unidirectional stream's type, a push ID).
 * feed() returns how many bytes of the input it used; `value` is set once the varint is complete.
 */
export class VarintCollector {
  private readonly bytes = new Uint8Array(8);
  private have = 0;
  private need = 0;
  value: number | undefined;

  feed(input: Uint8Array): number {
    if (this.value !== undefined || input.length === 0) return 0;
    if (this.have === 0) this.need = varintSizeFromFirstByte(input[0]!);
    const n = Math.min(this.need - this.have, input.length);
    this.bytes.set(input.subarray(0, n), this.have);
    this.have += n;
    if (this.have === this.need) this.value = readVarintAt(this.bytes, 0);
    return n;
  }
}
