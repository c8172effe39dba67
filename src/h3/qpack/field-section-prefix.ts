import { QpackError, QPACK_DECOMPRESSION_FAILED } from './errors.ts';
import { DELTA_BASE_PREFIX, DELTA_BASE_SIGN, REQUIRED_INSERT_COUNT_PREFIX } from './instructions.ts';
import { writeInteger } from '../../fields/integer.ts';
import type { Reader } from './reader.ts';
import { ENTRY_OVERHEAD } from './dynamic-table.ts';

/** MaxEntries of RFC 9204 Section 4.5.1.1: how many entries a table of this capacity can hold at most. */
export function maxEntries(maxTableCapacity: number): number {
  return Math.floor(maxTableCapacity / ENTRY_OVERHEAD);
}

/** Encoded Required Insert Count (RFC 9204 Section 4.5.1.1). */
export function encodeRequiredInsertCount(requiredInsertCount: number, maxTableCapacity: number): number {
  if (requiredInsertCount === 0) return 0;
  return (requiredInsertCount % (2 * maxEntries(maxTableCapacity))) + 1;
}

/**
 * Required Insert Count from its encoding (RFC 9204 Section 4.5.1.1), rejecting encodings a
 * conformant encoder cannot produce.
 */
export function decodeRequiredInsertCount(encoded: number, maxTableCapacity: number, totalInserts: number): number {
  if (encoded === 0) return 0;
  const fail = () => {
    throw new QpackError(QPACK_DECOMPRESSION_FAILED, `invalid encoded Required Insert Count ${encoded}`);
  };
  const fullRange = 2 * maxEntries(maxTableCapacity);
  if (encoded > fullRange) fail();
  const maxValue = totalInserts + maxEntries(maxTableCapacity);
  const maxWrapped = Math.floor(maxValue / fullRange) * fullRange;
  let required = maxWrapped + encoded - 1;
  if (required > maxValue) {
    if (required <= fullRange) fail();
    required -= fullRange;
  }
  if (required === 0) fail();
  return required;
}

export interface FieldSectionPrefix {
  requiredInsertCount: number;
  base: number;
}

/** Reads the prefix of an encoded field section (RFC 9204 Section 4.5.1). */
export function readFieldSectionPrefix(reader: Reader, maxTableCapacity: number, totalInserts: number): FieldSectionPrefix {
  const encoded = reader.integer(REQUIRED_INSERT_COUNT_PREFIX);
  const negative = (reader.peek() & DELTA_BASE_SIGN) !== 0;
  const delta = reader.integer(DELTA_BASE_PREFIX);
  const requiredInsertCount = decodeRequiredInsertCount(encoded, maxTableCapacity, totalInserts);
  if (negative && delta >= requiredInsertCount) reader.fail(`negative Base (Required Insert Count ${requiredInsertCount}, delta ${delta})`);
  const base = negative ? requiredInsertCount - delta - 1 : requiredInsertCount + delta;
  return { requiredInsertCount, base };
}

export function writeFieldSectionPrefix(
  out: number[],
  requiredInsertCount: number,
  base: number,
  maxTableCapacity: number,
): void {
  writeInteger(out, encodeRequiredInsertCount(requiredInsertCount, maxTableCapacity), REQUIRED_INSERT_COUNT_PREFIX, 0);
  if (base >= requiredInsertCount) writeInteger(out, base - requiredInsertCount, DELTA_BASE_PREFIX, 0);
  else writeInteger(out, requiredInsertCount - base - 1, DELTA_BASE_PREFIX, DELTA_BASE_SIGN);
}
