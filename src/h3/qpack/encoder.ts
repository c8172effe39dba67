import { DynamicTable, entrySize } from './dynamic-table.ts';
import { QPACK_DECODER_STREAM_ERROR } from './errors.ts';
import { writeFieldSectionPrefix } from './field-section-prefix.ts';
import {
  INDEXED_FIELD_LINE,
  INDEXED_FIELD_LINE_PREFIX,
  INDEXED_FIELD_LINE_STATIC,
  INSERT_COUNT_INCREMENT_PREFIX,
  INSERT_WITH_LITERAL_NAME,
  INSERT_WITH_LITERAL_NAME_PREFIX,
  INSERT_WITH_NAME_REFERENCE,
  INSERT_WITH_NAME_REFERENCE_PREFIX,
  INSERT_WITH_NAME_REFERENCE_STATIC,
  LITERAL_WITH_LITERAL_NAME,
  LITERAL_WITH_LITERAL_NAME_NEVER_INDEX,
  LITERAL_WITH_LITERAL_NAME_PREFIX,
  LITERAL_WITH_NAME_REFERENCE,
  LITERAL_WITH_NAME_REFERENCE_NEVER_INDEX,
  LITERAL_WITH_NAME_REFERENCE_PREFIX,
  LITERAL_WITH_NAME_REFERENCE_STATIC,
  SECTION_ACKNOWLEDGMENT,
  SECTION_ACKNOWLEDGMENT_PREFIX,
  SET_DYNAMIC_TABLE_CAPACITY,
  SET_DYNAMIC_TABLE_CAPACITY_PREFIX,
  STREAM_CANCELLATION,
  STREAM_CANCELLATION_MASK,
  STREAM_CANCELLATION_PREFIX,
  VALUE_STRING_PREFIX,
} from './instructions.ts';
import { writeInteger } from '../../fields/integer.ts';
import { Incomplete, Reader } from './reader.ts';
import { staticExactIndex, staticNameIndex } from './static-table.ts';
import { stringToBytes, writeStringLiteral, type HuffmanPolicy } from './string-literal.ts';

/** Same default as HTTP/2's HPACK (SETTINGS_HEADER_TABLE_SIZE), so compression is comparable. */
export const DEFAULT_MAX_TABLE_CAPACITY = 4096;

export interface QpackEncoderOptions {
  /** Our limit on the dynamic table; the table used is min(this, the peer's). 0: static table and literals only. */
  maxTableCapacity?: number;
  /** 'never' writes every string raw (the RFC examples do); default: Huffman when shorter. */
  huffman?: HuffmanPolicy;
  /** Fields sent with the never-index bit and kept out of the dynamic table. */
  isSensitive?: (name: string, value: string) => boolean;
}

export interface PeerSettings {
  /** The peer's SETTINGS_QPACK_MAX_TABLE_CAPACITY (0 if absent). */
  maxTableCapacity: number;
  /** The peer's SETTINGS_QPACK_BLOCKED_STREAMS (0 if absent). */
  maxBlockedStreams: number;
}

/**
 * Credentials, and cookies short enough to be guessed by probing compression state, stay out of
 * any table (RFC 9204 Section 7.1.3); nghttp2 makes the same choice for HPACK.
 */
export function defaultIsSensitive(name: string, value: string): boolean {
  return name === 'authorization' || name === 'proxy-authorization' || (name === 'cookie' && value.length < 20);
}

/** Fields whose values rarely repeat: inserting them would only evict useful entries. */
const NOT_WORTH_INDEXING = new Set([
  'content-length',
  'content-range',
  'date',
  'etag',
  'last-modified',
  'if-modified-since',
  'if-none-match',
  'age',
  'expires',
  'set-cookie',
]);

/** One field line, staged until the section's Base is known. */
type Line =
  | { kind: 'static'; index: number }
  | { kind: 'dynamic'; absoluteIndex: number }
  | { kind: 'static-name'; index: number; value: Uint8Array; neverIndex: boolean }
  | { kind: 'dynamic-name'; absoluteIndex: number; value: Uint8Array; neverIndex: boolean }
  | { kind: 'literal'; name: Uint8Array; value: Uint8Array; neverIndex: boolean };

interface OutstandingSection {
  requiredInsertCount: number;
  /** Absolute indices referenced, one per reference. */
  references: number[];
}

/**
 * QPACK encoder (RFC 9204 Section 2.1) for one HTTP/3 connection. Pure: the HTTP/3 layer calls
 * applyPeerSettings() once the peer's SETTINGS arrive, encodes each field section, sends
 * takeEncoderStreamData() on our encoder stream and feeds the peer's decoder stream back.
 */
export class QpackEncoder {
  private readonly localMaxTableCapacity: number;
  private readonly huffman: HuffmanPolicy;
  private readonly isSensitive: (name: string, value: string) => boolean;
  private readonly table = new DynamicTable();
  /** The decoder's SETTINGS_QPACK_MAX_TABLE_CAPACITY: what Required Insert Count is encoded against. */
  private peerMaxTableCapacity = 0;
  private maxBlockedStreams = 0;
  private settingsApplied = false;
  /** Inserts the decoder has confirmed (Section 2.1.4). */
  private knownReceivedCount = 0;
  /** Unacknowledged references per absolute index: such entries must not be evicted. */
  private readonly referenceCounts = new Map<number, number>();
  private readonly exactIndex = new Map<string, number>();
  private readonly nameIndex = new Map<string, number>();
  /** Sections with dynamic references awaiting a Section Acknowledgment, per stream, oldest first. */
  private readonly outstanding = new Map<number, OutstandingSection[]>();
  /** Fields seen recently, oldest first (see encodeFieldSection for why). */
  private readonly recentFields = new Set<string>();
  private encoderStreamOut: number[] = [];
  private decoderBuffer: Uint8Array = new Uint8Array(0);

  constructor(options: QpackEncoderOptions = {}) {
    const capacity = options.maxTableCapacity ?? DEFAULT_MAX_TABLE_CAPACITY;
    if (!Number.isSafeInteger(capacity) || capacity < 0) throw new RangeError('maxTableCapacity must be a non-negative integer');
    this.localMaxTableCapacity = capacity;
    this.huffman = options.huffman ?? 'shorter';
    this.isSensitive = options.isSensitive ?? defaultIsSensitive;
  }

  /** Current dynamic table capacity (0 until the peer's SETTINGS allow more). */
  get tableCapacity(): number {
    return this.table.capacity;
  }

  get insertCount(): number {
    return this.table.insertCount;
  }

  get knownReceived(): number {
    return this.knownReceivedCount;
  }

  /** Streams with a section that references entries the decoder may not have yet. */
  get blockingStreamCount(): number {
    let count = 0;
    for (const sections of this.outstanding.values()) {
      if (sections.some((section) => section.requiredInsertCount > this.knownReceivedCount)) count++;
    }
    return count;
  }

  /**
   * Applies the peer's SETTINGS: the table capacity becomes min(ours, theirs) and, if non-zero,
   * is announced with Set Dynamic Table Capacity on the encoder stream.
   */
  applyPeerSettings(settings: PeerSettings): void {
    if (this.settingsApplied) throw new Error('peer SETTINGS were already applied to this encoder');
    for (const key of ['maxTableCapacity', 'maxBlockedStreams'] as const) {
      if (!Number.isSafeInteger(settings[key]) || settings[key] < 0) throw new RangeError(`peer ${key} must be a non-negative integer`);
    }
    this.settingsApplied = true;
    this.peerMaxTableCapacity = settings.maxTableCapacity;
    this.maxBlockedStreams = settings.maxBlockedStreams;
    const capacity = Math.min(this.localMaxTableCapacity, settings.maxTableCapacity);
    if (capacity > 0) {
      this.table.setCapacity(capacity);
      writeInteger(this.encoderStreamOut, capacity, SET_DYNAMIC_TABLE_CAPACITY_PREFIX, SET_DYNAMIC_TABLE_CAPACITY);
    }
  }

  /** Encodes one field section (a HEADERS frame payload); may queue encoder-stream instructions. */
  encodeFieldSection(streamId: number, headers: ReadonlyArray<readonly [string, string]>): Uint8Array {
    const mayBlock = this.streamIsBlocking(streamId) || this.blockingStreamCount < this.maxBlockedStreams;
    const canReference = (absoluteIndex: number) => absoluteIndex < this.knownReceivedCount || mayBlock;
    const lines: Line[] = [];
    const references: number[] = [];
    const reference = (absoluteIndex: number) => {
      references.push(absoluteIndex);
      this.referenceCounts.set(absoluteIndex, (this.referenceCounts.get(absoluteIndex) ?? 0) + 1);
    };

    for (const [name, value] of headers) {
      const neverIndex = this.isSensitive(name, value);
      const staticIndex = staticExactIndex(name, value);
      if (staticIndex >= 0) {
        lines.push({ kind: 'static', index: staticIndex });
        continue;
      }
      const valueBytes = stringToBytes(value);
      if (!neverIndex) {
        const key = `${name}\0${value}`;
        let absoluteIndex = this.exactIndex.get(key);
        if (absoluteIndex === undefined && this.worthIndexing(name, value)) {
          // Inserting a new field costs about what the literal would, so it is done at once when
          // this section may reference it and nothing needs evicting; otherwise only for a field
          // seen before, as one-off values (paths, ids) would evict entries that do repeat.
          const seen = this.seenBefore(key);
          if (seen || (mayBlock && this.fitsWithoutEviction(name, valueBytes))) absoluteIndex = this.insert(name, valueBytes);
        }
        if (absoluteIndex !== undefined && canReference(absoluteIndex)) {
          reference(absoluteIndex);
          lines.push({ kind: 'dynamic', absoluteIndex });
          continue;
        }
      }
      const staticName = staticNameIndex(name);
      if (staticName >= 0) {
        lines.push({ kind: 'static-name', index: staticName, value: valueBytes, neverIndex });
        continue;
      }
      const dynamicName = this.nameIndex.get(name);
      if (dynamicName !== undefined && canReference(dynamicName)) {
        reference(dynamicName);
        lines.push({ kind: 'dynamic-name', absoluteIndex: dynamicName, value: valueBytes, neverIndex });
        continue;
      }
      lines.push({ kind: 'literal', name: stringToBytes(name), value: valueBytes, neverIndex });
    }

    const requiredInsertCount = references.length === 0 ? 0 : Math.max(...references) + 1;
    if (requiredInsertCount > 0) {
      const sections = this.outstanding.get(streamId) ?? [];
      sections.push({ requiredInsertCount, references });
      this.outstanding.set(streamId, sections);
    }
    // Base = Insert Count now: every reference is a plain relative index, none post-base.
    const base = this.table.insertCount;
    const out: number[] = [];
    writeFieldSectionPrefix(out, requiredInsertCount, requiredInsertCount === 0 ? 0 : base, this.peerMaxTableCapacity);
    const effectiveBase = requiredInsertCount === 0 ? 0 : base;
    for (const line of lines) this.writeLine(out, line, effectiveBase);
    return Uint8Array.from(out);
  }

  /** Encoder-stream bytes to send (capacity and insert instructions). */
  takeEncoderStreamData(): Uint8Array {
    const out = Uint8Array.from(this.encoderStreamOut);
    this.encoderStreamOut = [];
    return out;
  }

  /**
   * Applies decoder-stream bytes (any split): Section Acknowledgment, Stream Cancellation, Insert
   * Count Increment. Throws QpackError(QPACK_DECODER_STREAM_ERROR) on bad input.
   */
  onDecoderStreamData(bytes: Uint8Array): void {
    const data = this.decoderBuffer.length === 0 ? bytes : concat(this.decoderBuffer, bytes);
    const reader = new Reader(data, QPACK_DECODER_STREAM_ERROR);
    while (reader.remaining > 0) {
      const start = reader.pos;
      try {
        this.readDecoderInstruction(reader);
      } catch (error) {
        if (error !== Incomplete.instance) throw error;
        reader.pos = start;
        break;
      }
    }
    this.decoderBuffer = data.slice(reader.pos);
  }

  private readDecoderInstruction(reader: Reader): void {
    const first = reader.peek();
    if ((first & SECTION_ACKNOWLEDGMENT) === SECTION_ACKNOWLEDGMENT) {
      // 1xxxxxxx section acknowledgment
      const streamId = reader.integer(SECTION_ACKNOWLEDGMENT_PREFIX);
      const section = this.outstanding.get(streamId)?.[0];
      if (!section) reader.fail(`Section Acknowledgment for stream ${streamId}, which has no unacknowledged section`);
      this.dropOldestSection(streamId);
      if (section.requiredInsertCount > this.knownReceivedCount) this.knownReceivedCount = section.requiredInsertCount;
    } else if ((first & STREAM_CANCELLATION_MASK) === STREAM_CANCELLATION) {
      // 01xxxxxx stream cancellation
      const streamId = reader.integer(STREAM_CANCELLATION_PREFIX);
      while (this.outstanding.has(streamId)) this.dropOldestSection(streamId);
    } else {
      // 00xxxxxx insert count increment
      const increment = reader.integer(INSERT_COUNT_INCREMENT_PREFIX);
      if (increment === 0) reader.fail('Insert Count Increment of 0');
      if (this.knownReceivedCount + increment > this.table.insertCount) {
        reader.fail(`Insert Count Increment to ${this.knownReceivedCount + increment} beyond ${this.table.insertCount} inserts`);
      }
      this.knownReceivedCount += increment;
    }
  }

  private dropOldestSection(streamId: number): void {
    const sections = this.outstanding.get(streamId)!;
    const section = sections.shift()!;
    if (sections.length === 0) this.outstanding.delete(streamId);
    for (const absoluteIndex of section.references) {
      const count = this.referenceCounts.get(absoluteIndex)! - 1;
      if (count === 0) this.referenceCounts.delete(absoluteIndex);
      else this.referenceCounts.set(absoluteIndex, count);
    }
  }

  private streamIsBlocking(streamId: number): boolean {
    return this.outstanding.get(streamId)?.some((section) => section.requiredInsertCount > this.knownReceivedCount) ?? false;
  }

  /** Records a sighting of `key`; true if it was among the recent ones. */
  private seenBefore(key: string): boolean {
    if (this.recentFields.delete(key)) return true;
    this.recentFields.add(key);
    // Remember about as many fields as twice what the table can hold.
    const limit = 2 * Math.max(16, Math.floor(this.table.capacity / 32));
    if (this.recentFields.size > limit) this.recentFields.delete(this.recentFields.values().next().value!);
    return false;
  }

  private fitsWithoutEviction(name: string, valueBytes: Uint8Array): boolean {
    return this.table.size + entrySize(name, '') + valueBytes.length <= this.table.capacity;
  }

  private worthIndexing(name: string, value: string): boolean {
    // Entries bigger than 3/4 of the table would flush everything else.
    return this.table.capacity > 0 && entrySize(name, value) * 4 <= this.table.capacity * 3 && !NOT_WORTH_INDEXING.has(name);
  }

  /**
   * Inserts an entry if room can be made by evicting only entries no unacknowledged section
   * references (Section 2.1.1). Returns its absolute index, or undefined.
   */
  private insert(name: string, valueBytes: Uint8Array): number | undefined {
    const size = entrySize(name, '') + valueBytes.length;
    let freed = 0;
    let evictable = 0;
    while (this.table.size - freed + size > this.table.capacity) {
      const absoluteIndex = this.table.firstIndex + evictable;
      if (absoluteIndex >= this.table.insertCount || this.referenceCounts.has(absoluteIndex)) return undefined;
      freed += this.table.get(absoluteIndex)!.size;
      evictable++;
    }
    for (let i = 0; i < evictable; i++) this.evictOldest();

    const out = this.encoderStreamOut;
    const staticName = staticNameIndex(name);
    const dynamicName = this.nameIndex.get(name);
    if (staticName >= 0) {
      // 11xxxxxx insert with static name reference
      writeInteger(out, staticName, INSERT_WITH_NAME_REFERENCE_PREFIX, INSERT_WITH_NAME_REFERENCE | INSERT_WITH_NAME_REFERENCE_STATIC);
    } else if (dynamicName !== undefined) {
      // 10xxxxxx insert with dynamic name reference (relative index)
      writeInteger(out, this.table.insertCount - 1 - dynamicName, INSERT_WITH_NAME_REFERENCE_PREFIX, INSERT_WITH_NAME_REFERENCE);
    } else {
      // 01Hxxxxx insert with literal name
      writeStringLiteral(out, stringToBytes(name), INSERT_WITH_LITERAL_NAME_PREFIX, INSERT_WITH_LITERAL_NAME, this.huffman);
    }
    writeStringLiteral(out, valueBytes, VALUE_STRING_PREFIX, 0, this.huffman);

    const value = Buffer.from(valueBytes).toString('latin1');
    const absoluteIndex = this.table.insert(name, value);
    this.exactIndex.set(`${name}\0${value}`, absoluteIndex);
    this.nameIndex.set(name, absoluteIndex);
    return absoluteIndex;
  }

  private evictOldest(): void {
    const absoluteIndex = this.table.firstIndex;
    const entry = this.table.get(absoluteIndex)!;
    const key = `${entry.name}\0${entry.value}`;
    if (this.exactIndex.get(key) === absoluteIndex) this.exactIndex.delete(key);
    if (this.nameIndex.get(entry.name) === absoluteIndex) this.nameIndex.delete(entry.name);
    this.table.evictTo(this.table.size - entry.size);
  }

  private writeLine(out: number[], line: Line, base: number): void {
    switch (line.kind) {
      case 'static':
        // 11xxxxxx indexed field line, static
        writeInteger(out, line.index, INDEXED_FIELD_LINE_PREFIX, INDEXED_FIELD_LINE | INDEXED_FIELD_LINE_STATIC);
        return;
      case 'dynamic':
        // 10xxxxxx indexed field line, dynamic (relative to Base)
        writeInteger(out, base - 1 - line.absoluteIndex, INDEXED_FIELD_LINE_PREFIX, INDEXED_FIELD_LINE);
        return;
      case 'static-name':
        // 01N1xxxx literal with static name reference
        writeInteger(out, line.index, LITERAL_WITH_NAME_REFERENCE_PREFIX, LITERAL_WITH_NAME_REFERENCE | LITERAL_WITH_NAME_REFERENCE_STATIC | (line.neverIndex ? LITERAL_WITH_NAME_REFERENCE_NEVER_INDEX : 0));
        writeStringLiteral(out, line.value, VALUE_STRING_PREFIX, 0, this.huffman);
        return;
      case 'dynamic-name':
        // 01N0xxxx literal with dynamic name reference
        writeInteger(out, base - 1 - line.absoluteIndex, LITERAL_WITH_NAME_REFERENCE_PREFIX, LITERAL_WITH_NAME_REFERENCE | (line.neverIndex ? LITERAL_WITH_NAME_REFERENCE_NEVER_INDEX : 0));
        writeStringLiteral(out, line.value, VALUE_STRING_PREFIX, 0, this.huffman);
        return;
      case 'literal':
        // 001NHxxx literal with literal name
        writeStringLiteral(out, line.name, LITERAL_WITH_LITERAL_NAME_PREFIX, LITERAL_WITH_LITERAL_NAME | (line.neverIndex ? LITERAL_WITH_LITERAL_NAME_NEVER_INDEX : 0), this.huffman);
        writeStringLiteral(out, line.value, VALUE_STRING_PREFIX, 0, this.huffman);
        return;
    }
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}
