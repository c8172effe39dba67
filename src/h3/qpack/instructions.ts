/*
 * Instruction and representation patterns of RFC 9204 Section 4. Each constant is the value of
 * the pattern bits; the matching *_MASK selects them; *_PREFIX is the integer prefix length.
 */

// Encoder instructions (Section 4.3), sent on the encoder stream.
export const SET_DYNAMIC_TABLE_CAPACITY = 0x20; // 001xxxxx capacity
export const SET_DYNAMIC_TABLE_CAPACITY_MASK = 0xe0;
export const SET_DYNAMIC_TABLE_CAPACITY_PREFIX = 5;
export const INSERT_WITH_NAME_REFERENCE = 0x80; // 1Txxxxxx name index, then value string (7-bit prefix)
export const INSERT_WITH_NAME_REFERENCE_MASK = 0x80;
export const INSERT_WITH_NAME_REFERENCE_STATIC = 0x40; // T bit
export const INSERT_WITH_NAME_REFERENCE_PREFIX = 6;
export const INSERT_WITH_LITERAL_NAME = 0x40; // 01Hxxxxx name string (5-bit prefix), then value string
export const INSERT_WITH_LITERAL_NAME_MASK = 0xc0;
export const INSERT_WITH_LITERAL_NAME_PREFIX = 5;
export const DUPLICATE = 0x00; // 000xxxxx relative index
export const DUPLICATE_MASK = 0xe0;
export const DUPLICATE_PREFIX = 5;
/** A string that follows an instruction's first field: H bit 0x80, 7-bit length prefix. */
export const VALUE_STRING_PREFIX = 7;

// Decoder instructions (Section 4.4), sent on the decoder stream.
export const SECTION_ACKNOWLEDGMENT = 0x80; // 1xxxxxxx stream id
export const SECTION_ACKNOWLEDGMENT_MASK = 0x80;
export const SECTION_ACKNOWLEDGMENT_PREFIX = 7;
export const STREAM_CANCELLATION = 0x40; // 01xxxxxx stream id
export const STREAM_CANCELLATION_MASK = 0xc0;
export const STREAM_CANCELLATION_PREFIX = 6;
export const INSERT_COUNT_INCREMENT = 0x00; // 00xxxxxx increment
export const INSERT_COUNT_INCREMENT_MASK = 0xc0;
export const INSERT_COUNT_INCREMENT_PREFIX = 6;

// Encoded field section prefix (Section 4.5.1).
export const REQUIRED_INSERT_COUNT_PREFIX = 8; // xxxxxxxx encoded required insert count
export const DELTA_BASE_SIGN = 0x80; // Sxxxxxxx sign, delta base
export const DELTA_BASE_PREFIX = 7;

// Field line representations (Sections 4.5.2 - 4.5.6).
export const INDEXED_FIELD_LINE = 0x80; // 1Txxxxxx index
export const INDEXED_FIELD_LINE_MASK = 0x80;
export const INDEXED_FIELD_LINE_STATIC = 0x40; // T bit
export const INDEXED_FIELD_LINE_PREFIX = 6;
export const INDEXED_FIELD_LINE_POST_BASE = 0x10; // 0001xxxx post-base index
export const INDEXED_FIELD_LINE_POST_BASE_MASK = 0xf0;
export const INDEXED_FIELD_LINE_POST_BASE_PREFIX = 4;
export const LITERAL_WITH_NAME_REFERENCE = 0x40; // 01NTxxxx name index, then value string
export const LITERAL_WITH_NAME_REFERENCE_MASK = 0xc0;
export const LITERAL_WITH_NAME_REFERENCE_NEVER_INDEX = 0x20; // N bit
export const LITERAL_WITH_NAME_REFERENCE_STATIC = 0x10; // T bit
export const LITERAL_WITH_NAME_REFERENCE_PREFIX = 4;
export const LITERAL_WITH_POST_BASE_NAME_REFERENCE = 0x00; // 0000Nxxx post-base name index, then value string
export const LITERAL_WITH_POST_BASE_NAME_REFERENCE_MASK = 0xf0;
export const LITERAL_WITH_POST_BASE_NAME_REFERENCE_NEVER_INDEX = 0x08; // N bit
export const LITERAL_WITH_POST_BASE_NAME_REFERENCE_PREFIX = 3;
export const LITERAL_WITH_LITERAL_NAME = 0x20; // 001NHxxx name string (3-bit prefix), then value string
export const LITERAL_WITH_LITERAL_NAME_MASK = 0xe0;
export const LITERAL_WITH_LITERAL_NAME_NEVER_INDEX = 0x10; // N bit
export const LITERAL_WITH_LITERAL_NAME_PREFIX = 3;
