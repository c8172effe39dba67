/**
 * The HPACK decoder against RFC 7541 Appendix C: C.2 (one representation each), C.3/C.4 (three
 * requests on one connection, without and with Huffman), C.5/C.6 (three responses with a 256-byte
 * table, so entries are evicted). Header lists and the dynamic table after each block are the RFC's.
 */
import { describe, expect, it } from 'vitest';
import { encodeRequestBlock, HPACK_STATIC_TABLE, HpackDecoder, HpackError, type HeaderSink } from '../../src/h2/hpack.ts';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');

function decode(decoder: HpackDecoder, bytes: Uint8Array): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  const sink: HeaderSink = { field: (n, v) => out.push([n, v]) };
  decoder.decode(bytes, sink);
  return out;
}

const DATE1 = 'Mon, 21 Oct 2013 20:13:21 GMT';
const DATE2 = 'Mon, 21 Oct 2013 20:13:22 GMT';
const LOCATION = 'https://www.example.com';
const COOKIE = 'foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1';

const REQUESTS = {
  lists: [
    [[':method', 'GET'], [':scheme', 'http'], [':path', '/'], [':authority', 'www.example.com']],
    [[':method', 'GET'], [':scheme', 'http'], [':path', '/'], [':authority', 'www.example.com'], ['cache-control', 'no-cache']],
    [[':method', 'GET'], [':scheme', 'https'], [':path', '/index.html'], [':authority', 'www.example.com'], ['custom-key', 'custom-value']],
  ],
  tables: [
    { entries: [[':authority', 'www.example.com']], size: 57 },
    { entries: [['cache-control', 'no-cache'], [':authority', 'www.example.com']], size: 110 },
    { entries: [['custom-key', 'custom-value'], ['cache-control', 'no-cache'], [':authority', 'www.example.com']], size: 164 },
  ],
};

const RESPONSES = {
  lists: [
    [[':status', '302'], ['cache-control', 'private'], ['date', DATE1], ['location', LOCATION]],
    [[':status', '307'], ['cache-control', 'private'], ['date', DATE1], ['location', LOCATION]],
    [[':status', '200'], ['cache-control', 'private'], ['date', DATE2], ['location', LOCATION], ['content-encoding', 'gzip'], ['set-cookie', COOKIE]],
  ],
  tables: [
    { entries: [['location', LOCATION], ['date', DATE1], ['cache-control', 'private'], [':status', '302']], size: 222 },
    { entries: [[':status', '307'], ['location', LOCATION], ['date', DATE1], ['cache-control', 'private']], size: 222 },
    { entries: [['set-cookie', COOKIE], ['content-encoding', 'gzip'], ['date', DATE2]], size: 215 },
  ],
};

const VECTORS: Array<{ name: string; tableSize: number; blocks: string[]; expected: typeof REQUESTS }> = [
  {
    name: 'C.3 requests without Huffman',
    tableSize: 4096,
    blocks: ['828684410f7777772e6578616d706c652e636f6d', '828684be58086e6f2d6361636865', '828785bf400a637573746f6d2d6b65790c637573746f6d2d76616c7565'],
    expected: REQUESTS,
  },
  {
    name: 'C.4 requests with Huffman',
    tableSize: 4096,
    blocks: ['828684418cf1e3c2e5f23a6ba0ab90f4ff', '828684be5886a8eb10649cbf', '828785bf408825a849e95ba97d7f8925a849e95bb8e8b4bf'],
    expected: REQUESTS,
  },
  {
    name: 'C.5 responses without Huffman (256-byte table)',
    tableSize: 256,
    blocks: [
      '4803333032580770726976617465611d4d6f6e2c203231204f637420323031332032303a31333a323120474d546e1768747470733a2f2f7777772e6578616d706c652e636f6d',
      '4803333037c1c0bf',
      '88c1611d4d6f6e2c203231204f637420323031332032303a31333a323220474d54c05a04677a69707738666f6f3d4153444a4b48514b425a584f5157454f50495541585157454f49553b206d61782d6167653d333630303b2076657273696f6e3d31',
    ],
    expected: RESPONSES,
  },
  {
    name: 'C.6 responses with Huffman (256-byte table)',
    tableSize: 256,
    blocks: [
      '488264025885aec3771a4b6196d07abe941054d444a8200595040b8166e082a62d1bff6e919d29ad171863c78f0b97c8e9ae82ae43d3',
      '4883640effc1c0bf',
      '88c16196d07abe941054d444a8200595040b8166e084a62d1bffc05a839bd9ab77ad94e7821dd7f2e6c7b335dfdfcd5b3960d5af27087f3672c1ab270fb5291f9587316065c003ed4ee5b1063d5007',
    ],
    expected: RESPONSES,
  },
];

describe('HPACK decoder: RFC 7541 Appendix C', () => {
  for (const v of VECTORS) {
    it(v.name, () => {
      const decoder = new HpackDecoder(v.tableSize);
      v.blocks.forEach((block, i) => {
        expect(decode(decoder, hex(block))).toEqual(v.expected.lists[i]);
        const table = decoder.dynamicTable;
        expect({ entries: table.entries, size: table.size }).toEqual(v.expected.tables[i]);
      });
    });
  }

  it('the static table has the 61 entries of Appendix A', () => {
    expect(HPACK_STATIC_TABLE).toHaveLength(61);
    expect(HPACK_STATIC_TABLE[0]).toEqual([':authority', '']);
    expect(HPACK_STATIC_TABLE[15]).toEqual(['accept-encoding', 'gzip, deflate']);
    expect(HPACK_STATIC_TABLE[58]).toEqual(['vary', '']);
    expect(HPACK_STATIC_TABLE[60]).toEqual(['www-authenticate', '']);
  });

  it('C.2: one representation of each kind', () => {
    const d = new HpackDecoder();
    expect(decode(d, hex('400a637573746f6d2d6b65790d637573746f6d2d686561646572'))).toEqual([['custom-key', 'custom-header']]);
    expect(d.dynamicTable.size).toBe(55);
    expect(decode(d, hex('040c2f73616d706c652f70617468'))).toEqual([[':path', '/sample/path']]);
    expect(decode(d, hex('100870617373776f726406736563726574'))).toEqual([['password', 'secret']]);
    expect(decode(d, hex('82'))).toEqual([[':method', 'GET']]);
    // Literals without indexing and never-indexed leave the table alone.
    expect(d.dynamicTable.entries).toEqual([['custom-key', 'custom-header']]);
  });

  it('size updates: evict, bound by SETTINGS_HEADER_TABLE_SIZE, only at the start of a block', () => {
    const d = new HpackDecoder(256);
    decode(d, hex(VECTORS[2]!.blocks[0]!));
    // 001 00000: size 0 empties the table; the entry at 62 is gone.
    expect(decode(d, hex('20'))).toEqual([]);
    expect(d.dynamicTable).toEqual({ entries: [], size: 0, limit: 0 });
    expect(() => decode(d, hex('be'))).toThrow(HpackError);
    // 4096 > 256: 3f e1 1f.
    expect(() => decode(new HpackDecoder(256), hex('3fe11f'))).toThrow(/above the 256 allowed/);
    expect(() => decode(new HpackDecoder(), hex('8220'))).toThrow(/after a field/);
  });

  it('rejects malformed blocks with HpackError', () => {
    const bad = ['80', 'ff7f', '0005 61', '00 81 00 01 61', '41', '4103', 'ffffffffffffffffffff01', '82 ff'];
    for (const b of bad) expect(() => decode(new HpackDecoder(), hex(b)), b).toThrow(HpackError);
  });
});

describe('HPACK request block (no dynamic table)', () => {
  it('encodes indexed static fields and literals without indexing, decodable again', () => {
    const fields: Array<[string, string]> = [[':method', 'GET'], [':scheme', 'https'], [':path', '/bytes/1024'], [':authority', 'localhost:8443'], ['x-test', 'a']];
    const block = encodeRequestBlock(fields);
    // :method GET = 2, :scheme https = 7; :path literal without indexing, name index 4.
    expect(block.subarray(0, 4).toString('hex')).toBe('8287040b');
    const d = new HpackDecoder();
    expect(decode(d, block)).toEqual(fields);
    expect(d.dynamicTable.size).toBe(0);
  });
});
