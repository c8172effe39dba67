import { DynamicTable, entrySize, type TableEntry } from './dynamic-table.ts';
import {
  FieldSectionTooLargeError,
  QpackError,
  QPACK_DECOMPRESSION_FAILED,
  QPACK_ENCODER_STREAM_ERROR,
} from './errors.ts';
import { readFieldSectionPrefix } from './field-section-prefix.ts';
import {
  DUPLICATE_PREFIX,
  INDEXED_FIELD_LINE,
  INDEXED_FIELD_LINE_PREFIX,
  INDEXED_FIELD_LINE_POST_BASE,
  INDEXED_FIELD_LINE_POST_BASE_MASK,
  INDEXED_FIELD_LINE_POST_BASE_PREFIX,
  INDEXED_FIELD_LINE_STATIC,
  INSERT_COUNT_INCREMENT,
  INSERT_COUNT_INCREMENT_PREFIX,
  INSERT_WITH_LITERAL_NAME,
  INSERT_WITH_LITERAL_NAME_MASK,
  INSERT_WITH_LITERAL_NAME_PREFIX,
  INSERT_WITH_NAME_REFERENCE,
  INSERT_WITH_NAME_REFERENCE_PREFIX,
  INSERT_WITH_NAME_REFERENCE_STATIC,
  LITERAL_WITH_LITERAL_NAME,
  LITERAL_WITH_LITERAL_NAME_MASK,
  LITERAL_WITH_LITERAL_NAME_NEVER_INDEX,
  LITERAL_WITH_LITERAL_NAME_PREFIX,
  LITERAL_WITH_NAME_REFERENCE,
  LITERAL_WITH_NAME_REFERENCE_MASK,
  LITERAL_WITH_NAME_REFERENCE_NEVER_INDEX,
  LITERAL_WITH_NAME_REFERENCE_PREFIX,
  LITERAL_WITH_NAME_REFERENCE_STATIC,
  LITERAL_WITH_POST_BASE_NAME_REFERENCE_NEVER_INDEX,
  LITERAL_WITH_POST_BASE_NAME_REFERENCE_PREFIX,
  SECTION_ACKNOWLEDGMENT,
  SECTION_ACKNOWLEDGMENT_PREFIX,
  SET_DYNAMIC_TABLE_CAPACITY,
  SET_DYNAMIC_TABLE_CAPACITY_MASK,
  SET_DYNAMIC_TABLE_CAPACITY_PREFIX,
  STREAM_CANCELLATION,
  STREAM_CANCELLATION_PREFIX,
  VALUE_STRING_PREFIX,
} from './instructions.ts';
import { writeInteger } from '../../fields/integer.ts';
import { Incomplete, Reader } from './reader.ts';
import { STATIC_TABLE } from './static-table.ts';
import { bytesToString, readStringLiteral } from './string-literal.ts';

export type HeaderList = Array<[name: string, value: string]>;

export interface QpackDecoderOptions {
  /** Our SETTINGS_QPACK_MAX_TABLE_CAPACITY: the most the encoder may set the table to. */
  maxTableCapacity: number;
  /** Our SETTINGS_QPACK_BLOCKED_STREAMS. */
  maxBlockedStreams: number;
  /** Our SETTINGS_MAX_FIELD_SECTION_SIZE (RFC 9114 Section 4.2.2), if any. */
  maxFieldSectionSize?: number;
  /**
   * Table capacity before any Set Dynamic Table Capacity instruction. RFC 9204 starts at 0; the
   * offline-interop corpus was produced by encoders that assume the table starts at the maximum.
   */
  initialTableCapacity?: number;
}

export type DecodeResult =
  | {
      status: 'done';
      headers: HeaderList;
      /** Positions in `headers` of lines sent with the N (never-index) bit: an intermediary must keep them literal. */
      neverIndexed: number[];
    }
  | { status: 'blocked'; requiredInsertCount: number };

interface PendingSection {
  bytes: Uint8Array;
  requiredInsertCount: number;
}

/**
 * QPACK decoder (RFC 9204 Section 2.2) for one HTTP/3 connection. Pure: the HTTP/3 layer feeds it
 * the peer's encoder stream and each HEADERS frame payload, and sends what
 * takeDecoderStreamData() returns on our decoder stream.
 */
export class QpackDecoder {
  private readonly table = new DynamicTable();
  private readonly maxTableCapacity: number;
  private readonly maxBlockedStreams: number;
  private readonly maxFieldSectionSize: number;
  /** Bytes of an encoder instruction that has not fully arrived. */
  private encoderBuffer: Uint8Array = new Uint8Array(0);
  private decoderStreamOut: number[] = [];
  /** Inserts the encoder knows we have received, through acknowledgments and increments. */
  private knownReceivedCount = 0;
  private readonly blocked = new Map<number, PendingSection>();
  /** Sections that were blocked and can now be decoded by retryBlocked(). */
  private readonly unblocked = new Map<number, PendingSection>();

  constructor(options: QpackDecoderOptions) {
    for (const key of ['maxTableCapacity', 'maxBlockedStreams'] as const) {
      if (!Number.isSafeInteger(options[key]) || options[key] < 0) throw new RangeError(`${key} must be a non-negative integer`);
    }
    this.maxTableCapacity = options.maxTableCapacity;
    this.maxBlockedStreams = options.maxBlockedStreams;
    this.maxFieldSectionSize = options.maxFieldSectionSize ?? Infinity;
    const initial = options.initialTableCapacity ?? 0;
    if (!Number.isSafeInteger(initial) || initial < 0 || initial > this.maxTableCapacity) {
      throw new RangeError('initialTableCapacity must be an integer between 0 and maxTableCapacity');
    }
    this.table.setCapacity(initial);
  }

  /** Insert Count: entries ever inserted into the dynamic table. */
  get insertCount(): number {
    return this.table.insertCount;
  }

  /** Current dynamic table size and capacity (for tests and stats). */
  get tableState(): { size: number; capacity: number; entries: number } {
    return { size: this.table.size, capacity: this.table.capacity, entries: this.table.length };
  }

  /** Streams whose sections wait for encoder-stream data (counted against maxBlockedStreams). */
  get blockedStreamCount(): number {
    return this.blocked.size;
  }

  /** Bytes held for an encoder instruction that has not fully arrived. */
  get bufferedEncoderBytes(): number {
    return this.encoderBuffer.length;
  }

  /**
   * Applies encoder-stream bytes (any split). Returns the streams whose blocked sections can now
   * be decoded with retryBlocked(). Throws QpackError(QPACK_ENCODER_STREAM_ERROR) on bad input.
   */
  onEncoderStreamData(bytes: Uint8Array): number[] {
    const data = this.encoderBuffer.length === 0 ? bytes : concat(this.encoderBuffer, bytes);
    const reader = new Reader(data, QPACK_ENCODER_STREAM_ERROR);
    const insertsBefore = this.table.insertCount;
    while (reader.remaining > 0) {
      const start = reader.pos;
      try {
        this.readEncoderInstruction(reader);
      } catch (error) {
        if (error !== Incomplete.instance) throw error;
        reader.pos = start;
        break;
      }
    }
    // Copy: the caller may reuse its buffer.
    this.encoderBuffer = data.slice(reader.pos);
    return this.table.insertCount === insertsBefore ? [] : this.releaseUnblocked();
  }

  /**
   * Decodes one encoded field section (a HEADERS frame payload). A section that needs entries
   * not yet received is held ('blocked') until onEncoderStreamData() reports its stream, then
   * decoded by retryBlocked(). Throws QpackError(QPACK_DECOMPRESSION_FAILED) on bad input.
   */
  decodeFieldSection(streamId: number, bytes: Uint8Array): DecodeResult {
    if (this.blocked.has(streamId) || this.unblocked.has(streamId)) {
      throw new Error(`stream ${streamId} already has a field section waiting to be decoded`);
    }
    return this.decode(streamId, bytes, true);
  }

  /** Decodes a section that was blocked; 'blocked' again if its entries have still not arrived. */
  retryBlocked(streamId: number): DecodeResult {
    const pending = this.unblocked.get(streamId);
    if (pending) {
      this.unblocked.delete(streamId);
      return this.decode(streamId, pending.bytes, false);
    }
    const stillBlocked = this.blocked.get(streamId);
    if (stillBlocked) return { status: 'blocked', requiredInsertCount: stillBlocked.requiredInsertCount };
    throw new Error(`stream ${streamId} has no blocked field section`);
  }

  /**
   * The stream was reset or its reading abandoned: drop any section held for it and tell the
   * encoder (Stream Cancellation), so it can release the entries the stream referenced.
   */
  cancelStream(streamId: number): void {
    this.blocked.delete(streamId);
    this.unblocked.delete(streamId);
    // A decoder whose table capacity is zero may omit it (RFC 9204 Section 4.4.2).
    if (this.maxTableCapacity > 0) writeInteger(this.decoderStreamOut, streamId, STREAM_CANCELLATION_PREFIX, STREAM_CANCELLATION);
  }

  /**
   * Decoder-stream bytes to send: Section Acknowledgments and Stream Cancellations queued so far,
   * then an Insert Count Increment for inserts no acknowledgment has covered.
   */
  takeDecoderStreamData(): Uint8Array {
    const increment = this.table.insertCount - this.knownReceivedCount;
    if (increment > 0) {
      writeInteger(this.decoderStreamOut, increment, INSERT_COUNT_INCREMENT_PREFIX, INSERT_COUNT_INCREMENT);
      this.knownReceivedCount = this.table.insertCount;
    }
    const out = Uint8Array.from(this.decoderStreamOut);
    this.decoderStreamOut = [];
    return out;
  }

  private releaseUnblocked(): number[] {
    const ready: number[] = [];
    for (const [streamId, pending] of this.blocked) {
      if (pending.requiredInsertCount <= this.table.insertCount) {
        this.blocked.delete(streamId);
        this.unblocked.set(streamId, pending);
        ready.push(streamId);
      }
    }
    return ready;
  }

  /** Reads and applies one encoder instruction (RFC 9204 Section 4.3); state changes only once it is complete. */
  private readEncoderInstruction(reader: Reader): void {
    const first = reader.peek();
    const maxStringLength = Math.max(0, this.table.capacity - 32);
    if ((first & INSERT_WITH_NAME_REFERENCE) === INSERT_WITH_NAME_REFERENCE) {
      // 1Txxxxxx insert with name reference
      const isStatic = (first & INSERT_WITH_NAME_REFERENCE_STATIC) !== 0;
      const index = reader.integer(INSERT_WITH_NAME_REFERENCE_PREFIX);
      const name = isStatic ? staticEntry(reader, index)[0] : this.relativeEntry(reader, index).name;
      const value = readStringLiteral(reader, VALUE_STRING_PREFIX, Math.max(0, maxStringLength - name.length));
      this.insert(reader, name, bytesToString(value));
    } else if ((first & INSERT_WITH_LITERAL_NAME_MASK) === INSERT_WITH_LITERAL_NAME) {
      // 01Hxxxxx insert with literal name
      const name = bytesToString(readStringLiteral(reader, INSERT_WITH_LITERAL_NAME_PREFIX, maxStringLength));
      const value = readStringLiteral(reader, VALUE_STRING_PREFIX, Math.max(0, maxStringLength - name.length));
      this.insert(reader, name, bytesToString(value));
    } else if ((first & SET_DYNAMIC_TABLE_CAPACITY_MASK) === SET_DYNAMIC_TABLE_CAPACITY) {
      // 001xxxxx set dynamic table capacity
      const capacity = reader.integer(SET_DYNAMIC_TABLE_CAPACITY_PREFIX);
      if (capacity > this.maxTableCapacity) reader.fail(`capacity ${capacity} exceeds our maximum ${this.maxTableCapacity}`);
      this.table.setCapacity(capacity);
    } else {
      // 000xxxxx duplicate
      const index = reader.integer(DUPLICATE_PREFIX);
      const entry = this.relativeEntry(reader, index);
      this.insert(reader, entry.name, entry.value);
    }
  }

  /** Entry by encoder-stream relative index (RFC 9204 Section 3.2.5). */
  private relativeEntry(reader: Reader, relativeIndex: number): TableEntry {
    const entry = this.table.get(this.table.insertCount - 1 - relativeIndex);
    if (!entry) reader.fail(`relative index ${relativeIndex} names no entry`);
    return entry;
  }

  private insert(reader: Reader, name: string, value: string): void {
    const size = entrySize(name, value);
    if (size > this.table.capacity) reader.fail(`entry of ${size} bytes exceeds table capacity ${this.table.capacity}`);
    this.table.insert(name, value);
  }

  private decode(streamId: number, bytes: Uint8Array, mayBlock: boolean): DecodeResult {
    const reader = new Reader(bytes, QPACK_DECOMPRESSION_FAILED);
    try {
      const { requiredInsertCount, base } = readFieldSectionPrefix(reader, this.maxTableCapacity, this.table.insertCount);
      if (requiredInsertCount > this.table.insertCount) {
        if (!mayBlock) throw new Error('unblocked section is blocked again');
        if (this.blocked.size >= this.maxBlockedStreams) {
          reader.fail(`stream ${streamId} would block, but ${this.blocked.size} of ${this.maxBlockedStreams} blocked streams are in use`);
        }
        this.blocked.set(streamId, { bytes: bytes.slice(), requiredInsertCount });
        return { status: 'blocked', requiredInsertCount };
      }
      const result = this.readFieldLines(reader, requiredInsertCount, base, streamId);
      if (requiredInsertCount > 0) this.acknowledge(streamId, requiredInsertCount);
      return result;
    } catch (error) {
      if (error === Incomplete.instance) throw new QpackError(QPACK_DECOMPRESSION_FAILED, 'field section is truncated');
      throw error;
    }
  }

  private acknowledge(streamId: number, requiredInsertCount: number): void {
    writeInteger(this.decoderStreamOut, streamId, SECTION_ACKNOWLEDGMENT_PREFIX, SECTION_ACKNOWLEDGMENT);
    if (requiredInsertCount > this.knownReceivedCount) this.knownReceivedCount = requiredInsertCount;
  }

  /** Field line representations (RFC 9204 Section 4.5.2 - 4.5.6). */
  private readFieldLines(reader: Reader, requiredInsertCount: number, base: number, streamId: number): DecodeResult {
    const headers: HeaderList = [];
    const neverIndexed: number[] = [];
    const limit = this.maxFieldSectionSize;
    let sectionSize = 0;
    // Too large is the peer's request being refused (431), not a broken connection; acknowledge
    // anyway: the encoder must learn the section was processed.
    const tooLarge = (): never => {
      if (requiredInsertCount > 0) this.acknowledge(streamId, requiredInsertCount);
      throw new FieldSectionTooLargeError(limit);
    };
    const dynamicEntry = (absoluteIndex: number): TableEntry => {
      if (absoluteIndex < 0 || absoluteIndex >= requiredInsertCount) {
        reader.fail(`reference to dynamic entry ${absoluteIndex} outside Required Insert Count ${requiredInsertCount}`);
      }
      const entry = this.table.get(absoluteIndex);
      if (!entry) reader.fail(`reference to evicted dynamic entry ${absoluteIndex}`);
      return entry;
    };
    while (reader.remaining > 0) {
      const first = reader.peek();
      let name: string;
      let value: string;
      if ((first & INDEXED_FIELD_LINE) === INDEXED_FIELD_LINE) {
        // 1Txxxxxx indexed field line
        const index = reader.integer(INDEXED_FIELD_LINE_PREFIX);
        [name, value] = (first & INDEXED_FIELD_LINE_STATIC) !== 0 ? staticEntry(reader, index) : entryPair(dynamicEntry(base - 1 - index));
      } else if ((first & LITERAL_WITH_NAME_REFERENCE_MASK) === LITERAL_WITH_NAME_REFERENCE) {
        // 01NTxxxx literal with name reference
        const index = reader.integer(LITERAL_WITH_NAME_REFERENCE_PREFIX);
        name = (first & LITERAL_WITH_NAME_REFERENCE_STATIC) !== 0 ? staticEntry(reader, index)[0] : dynamicEntry(base - 1 - index).name;
        value = bytesToString(readStringLiteral(reader, VALUE_STRING_PREFIX, limit, tooLarge));
        if ((first & LITERAL_WITH_NAME_REFERENCE_NEVER_INDEX) !== 0) neverIndexed.push(headers.length);
      } else if ((first & LITERAL_WITH_LITERAL_NAME_MASK) === LITERAL_WITH_LITERAL_NAME) {
        // 001NHxxx literal with literal name
        name = bytesToString(readStringLiteral(reader, LITERAL_WITH_LITERAL_NAME_PREFIX, limit, tooLarge));
        value = bytesToString(readStringLiteral(reader, VALUE_STRING_PREFIX, limit, tooLarge));
        if ((first & LITERAL_WITH_LITERAL_NAME_NEVER_INDEX) !== 0) neverIndexed.push(headers.length);
      } else if ((first & INDEXED_FIELD_LINE_POST_BASE_MASK) === INDEXED_FIELD_LINE_POST_BASE) {
        // 0001xxxx indexed field line with post-base index
        const index = reader.integer(INDEXED_FIELD_LINE_POST_BASE_PREFIX);
        [name, value] = entryPair(dynamicEntry(base + index));
      } else {
        // 0000Nxxx literal with post-base name reference
        const index = reader.integer(LITERAL_WITH_POST_BASE_NAME_REFERENCE_PREFIX);
        name = dynamicEntry(base + index).name;
        value = bytesToString(readStringLiteral(reader, VALUE_STRING_PREFIX, limit, tooLarge));
        if ((first & LITERAL_WITH_POST_BASE_NAME_REFERENCE_NEVER_INDEX) !== 0) neverIndexed.push(headers.length);
      }
      sectionSize += entrySize(name, value);
      if (sectionSize > limit) tooLarge();
      headers.push([name, value]);
    }
    return { status: 'done', headers, neverIndexed };
  }
}

function staticEntry(reader: Reader, index: number): readonly [string, string] {
  const entry = STATIC_TABLE[index];
  if (!entry) reader.fail(`static table has no index ${index}`);
  return entry;
}

function entryPair(entry: TableEntry): [string, string] {
  return [entry.name, entry.value];
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}
