/**
 * HPACK (RFC 7541) as the lean HTTP/2 client needs it: a decoder for response header blocks (every
 * representation, Huffman, the static table and a dynamic table with size updates) and an encoder of
 * request blocks that never touches the dynamic table, so a block can be encoded once and sent for
 * every request. Pure wire code: bytes in, fields or HpackError out. Huffman and prefixed integers are
 * shared with QPACK (src/fields/).
 */
import { huffmanDecode } from '../fields/huffman.ts';
import { INTEGER_INCOMPLETE, readInteger, writeInteger, type FieldCursor } from '../fields/integer.ts';

/** A malformed header block: the connection error COMPRESSION_ERROR (RFC 9113 Section 4.3). */
export class HpackError extends Error {
  constructor(message: string) {
    super(`HPACK: ${message}`);
    this.name = 'HpackError';
  }
}

const fail = (reason: string): never => {
  throw new HpackError(reason);
};

/** The static table (RFC 7541 Appendix A), indexed from 1. */
export const HPACK_STATIC_TABLE: ReadonlyArray<readonly [name: string, value: string]> = [
  [':authority', ''],
  [':method', 'GET'],
  [':method', 'POST'],
  [':path', '/'],
  [':path', '/index.html'],
  [':scheme', 'http'],
  [':scheme', 'https'],
  [':status', '200'],
  [':status', '204'],
  [':status', '206'],
  [':status', '304'],
  [':status', '400'],
  [':status', '404'],
  [':status', '500'],
  ['accept-charset', ''],
  ['accept-encoding', 'gzip, deflate'],
  ['accept-language', ''],
  ['accept-ranges', ''],
  ['accept', ''],
  ['access-control-allow-origin', ''],
  ['age', ''],
  ['allow', ''],
  ['authorization', ''],
  ['cache-control', ''],
  ['content-disposition', ''],
  ['content-encoding', ''],
  ['content-language', ''],
  ['content-length', ''],
  ['content-location', ''],
  ['content-range', ''],
  ['content-type', ''],
  ['cookie', ''],
  ['date', ''],
  ['etag', ''],
  ['expect', ''],
  ['expires', ''],
  ['from', ''],
  ['host', ''],
  ['if-match', ''],
  ['if-modified-since', ''],
  ['if-none-match', ''],
  ['if-range', ''],
  ['if-unmodified-since', ''],
  ['last-modified', ''],
  ['link', ''],
  ['location', ''],
  ['max-forwards', ''],
  ['proxy-authenticate', ''],
  ['proxy-authorization', ''],
  ['range', ''],
  ['referer', ''],
  ['refresh', ''],
  ['retry-after', ''],
  ['server', ''],
  ['set-cookie', ''],
  ['strict-transport-security', ''],
  ['transfer-encoding', ''],
  ['user-agent', ''],
  ['vary', ''],
  ['via', ''],
  ['www-authenticate', ''],
];

/** Bytes an entry takes in the dynamic table: name and value octets plus 32 (Section 4.1). */
export const HPACK_ENTRY_OVERHEAD = 32;

/** The table size both sides start with (SETTINGS_HEADER_TABLE_SIZE's initial value). */
export const HPACK_DEFAULT_TABLE_SIZE = 4096;

/** Receives the fields of a block in order; names and values hold one octet per character (latin1). */
export interface HeaderSink {
  field(name: string, value: string): void;
}

/**
 * Decodes header blocks of one connection in order (the dynamic table is the connection's). Every
 * block must be decoded, even for a stream the client no longer wants, or the table goes out of sync.
 */
export class HpackDecoder {
  /** Newest entry last; `head` is the oldest still in the table (entries before it are evicted). */
  private names: string[] = [];
  private values: string[] = [];
  private head = 0;
  private size = 0;
  /** The limit the encoder set with its last size update (at most maxTableSize). */
  private limit: number;

  /** `maxTableSize`: our SETTINGS_HEADER_TABLE_SIZE, the most the encoder may set the table to. */
  constructor(private readonly maxTableSize = HPACK_DEFAULT_TABLE_SIZE) {
    this.limit = maxTableSize;
  }

  /** Entries in the dynamic table now, and their size by Section 4.1. */
  get dynamicTable(): { entries: Array<[string, string]>; size: number; limit: number } {
    const entries: Array<[string, string]> = [];
    for (let i = this.names.length - 1; i >= this.head; i--) entries.push([this.names[i]!, this.values[i]!]);
    return { entries, size: this.size, limit: this.limit };
  }

  /** Decodes `bytes[start..end)`, one complete header block, into `sink`. Throws HpackError. */
  decode(bytes: Uint8Array, sink: HeaderSink, start = 0, end = bytes.length): void {
    const cursor: FieldCursor = { bytes, pos: start, end };
    let fieldsSeen = false;
    while (cursor.pos < end) {
      const b = bytes[cursor.pos]!;
      if (b & 0x80) {
        // Indexed Header Field (Section 6.1): 1xxxxxxx
        const index = this.integer(cursor, 7);
        if (index === 0) fail('index 0 in an indexed field');
        sink.field(this.nameAt(index), this.valueAt(index));
        fieldsSeen = true;
      } else if (b & 0x40) {
        // Literal with Incremental Indexing (Section 6.2.1): 01xxxxxx
        const [name, value] = this.literal(cursor, 6);
        this.insert(name, value);
        sink.field(name, value);
        fieldsSeen = true;
      } else if (b & 0x20) {
        // Dynamic Table Size Update (Section 6.3): 001xxxxx, only at the start of a block (Section 4.2).
        if (fieldsSeen) fail('dynamic table size update after a field');
        const size = this.integer(cursor, 5);
        if (size > this.maxTableSize) fail(`table size update to ${size}, above the ${this.maxTableSize} allowed`);
        this.limit = size;
        this.evictTo(size);
      } else {
        // Literal without Indexing 0000xxxx (Section 6.2.2) or Never Indexed 0001xxxx (Section 6.2.3).
        const [name, value] = this.literal(cursor, 4);
        sink.field(name, value);
        fieldsSeen = true;
      }
    }
  }

  private integer(cursor: FieldCursor, prefixBits: number): number {
    const value = readInteger(cursor, prefixBits, fail);
    return value === INTEGER_INCOMPLETE ? fail('block ends inside an integer') : value;
  }

  private literal(cursor: FieldCursor, prefixBits: number): [string, string] {
    const index = this.integer(cursor, prefixBits);
    const name = index === 0 ? this.string(cursor) : this.nameAt(index);
    return [name, this.string(cursor)];
  }

  /** A string literal (Section 5.2): Huffman flag, 7-bit prefixed length, octets. */
  private string(cursor: FieldCursor): string {
    if (cursor.pos >= cursor.end) fail('block ends before a string');
    const huffman = (cursor.bytes[cursor.pos]! & 0x80) !== 0;
    const length = this.integer(cursor, 7);
    if (length > cursor.end - cursor.pos) fail('block ends inside a string');
    const raw = cursor.bytes.subarray(cursor.pos, cursor.pos + length);
    cursor.pos += length;
    return latin1(huffman ? huffmanDecode(raw, fail) : raw);
  }

  private entryIndex(index: number): number {
    const dynamic = index - HPACK_STATIC_TABLE.length;
    const at = this.names.length - dynamic;
    if (dynamic > 0 && at >= this.head) return at;
    return fail(`index ${index} is beyond the ${HPACK_STATIC_TABLE.length} static and ${this.names.length - this.head} dynamic entries`);
  }

  private nameAt(index: number): string {
    return index <= HPACK_STATIC_TABLE.length ? HPACK_STATIC_TABLE[index - 1]![0] : this.names[this.entryIndex(index)]!;
  }

  private valueAt(index: number): string {
    return index <= HPACK_STATIC_TABLE.length ? HPACK_STATIC_TABLE[index - 1]![1] : this.values[this.entryIndex(index)]!;
  }

  /** Adds an entry, evicting the oldest first; one larger than the table empties it (Section 4.4). */
  private insert(name: string, value: string): void {
    const entrySize = name.length + value.length + HPACK_ENTRY_OVERHEAD;
    this.evictTo(this.limit - entrySize);
    if (entrySize > this.limit) return;
    this.names.push(name);
    this.values.push(value);
    this.size += entrySize;
  }

  private evictTo(size: number): void {
    while (this.size > Math.max(0, size) && this.head < this.names.length) {
      this.size -= this.names[this.head]!.length + this.values[this.head]!.length + HPACK_ENTRY_OVERHEAD;
      this.head++;
    }
    // Drop evicted slots now and then, so the arrays do not grow with the connection.
    if (this.head > 64 && this.head * 2 > this.names.length) {
      this.names = this.names.slice(this.head);
      this.values = this.values.slice(this.head);
      this.head = 0;
    }
  }
}

function latin1(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
}

/**
 * A request header block that leaves the dynamic table alone, so it is the same bytes on every
 * request: indexed static entries where the static table has the field (`:method: GET`,
 * `:scheme: https`), else literals without indexing (Section 6.2.2) with a static name index when
 * there is one, strings without Huffman. Names must be lower case; values latin1.
 */
export function encodeRequestBlock(fields: ReadonlyArray<readonly [string, string]>): Buffer {
  const out: number[] = [];
  for (const [name, value] of fields) {
    const exact = HPACK_STATIC_TABLE.findIndex(([n, v]) => n === name && v === value);
    if (exact >= 0) {
      writeInteger(out, exact + 1, 7, 0x80);
      continue;
    }
    const nameIndex = HPACK_STATIC_TABLE.findIndex(([n]) => n === name);
    writeInteger(out, nameIndex + 1, 4, 0x00);
    if (nameIndex < 0) writeString(out, name);
    writeString(out, value);
  }
  return Buffer.from(out);
}

function writeString(out: number[], text: string): void {
  const bytes = Buffer.from(text, 'latin1');
  writeInteger(out, bytes.length, 7, 0x00);
  for (const b of bytes) out.push(b);
}
