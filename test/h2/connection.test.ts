/**
 * The client connection state machine fed hand-built server frames (RFC 9113): what it writes back
 * (ACKs, WINDOW_UPDATE, RST_STREAM, GOAWAY, byte for byte) and what it reports per stream.
 */
import { describe, expect, it } from 'vitest';
import { H2ClientConnection, type H2ClientEvents } from '../../src/h2/connection.ts';
import { FrameReader } from '../../src/h2/frames.ts';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');

type Event = [string, ...unknown[]];

function client(opts: { streamWindow?: number; connectionWindow?: number; keepHeaders?: boolean } = {}) {
  const events: Event[] = [];
  const handlers: H2ClientEvents<string> = {
    output: () => {},
    headers: (user, status, fields) => events.push(['headers', user, status, ...(fields ? [fields] : [])]),
    data: (user, bytes, start, end) => events.push(['data', user, bytes.subarray(start, end).toString('latin1')]),
    ended: (user, error, unprocessed) => events.push(['ended', user, error?.message, unprocessed]),
    ready: () => {},
    closing: (error) => events.push(['closing', error?.message]),
  };
  const c = new H2ClientConnection<string>({ streamWindow: opts.streamWindow ?? 6 * 1024 * 1024, connectionWindow: opts.connectionWindow ?? 15 * 1024 * 1024, keepHeaders: opts.keepHeaders }, handlers);
  /** Frames written since the last call, as [type, flags, stream, payload hex]. */
  const written = (): Array<[number, number, number, string]> => {
    const out: Array<[number, number, number, string]> = [];
    const bytes = c.takeOutput();
    if (!bytes) return out;
    const preface = bytes.subarray(0, 24).toString('latin1') === 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n' ? 24 : 0;
    new FrameReader({ frame: (t, f, id, b, s, e) => out.push([t, f, id, b.subarray(s, e).toString('hex')]) }, 1 << 24).push(bytes.subarray(preface));
    return out;
  };
  return { c, events, written };
}

/** Server SETTINGS: MAX_CONCURRENT_STREAMS 2, INITIAL_WINDOW_SIZE 65535. */
const SERVER_SETTINGS = hex('00000c 04 00 00000000  0003 00000002  0004 0000ffff');
/** :status 200 (static 8, indexed) and content-length: 5 (literal without indexing, static name 28). */
const HEADERS_200_LEN5 = (stream: number) => hex(`000005 01 04 ${stream.toString(16).padStart(8, '0')}  88 0f0d 0135`);

function opened(opts?: Parameters<typeof client>[0]) {
  const t = client(opts);
  t.c.start();
  t.written();
  t.c.receive(SERVER_SETTINGS);
  expect(t.written()).toEqual([[4, 1, 0, '']]); // SETTINGS ACK
  return t;
}

describe('H2ClientConnection', () => {
  it('starts with the preface, SETTINGS (no push, our stream window) and the connection window update', () => {
    const { c } = client();
    c.start();
    expect(c.takeOutput()!.toString('hex')).toBe(
      '505249202a20485454502f322e300d0a0d0a534d0d0a0d0a' + '00000c040000000000' + '000200000000' + '000400600000' + '000004080000000000' + '00ef0001',
    );
  });

  it('waits for the server SETTINGS and respects its MAX_CONCURRENT_STREAMS', () => {
    const { c, written } = client();
    c.start();
    written();
    expect(c.settingsReceived).toBe(false);
    c.receive(SERVER_SETTINGS);
    expect(c.settingsReceived).toBe(true);
    expect(c.openStream(hex('8287'), 'a')).toBe(1);
    expect(c.openStream(hex('8287'), 'b')).toBe(3);
    expect(c.canOpenStream()).toBe(false);
    expect(written()).toEqual([[4, 1, 0, ''], [1, 5, 1, '8287'], [1, 5, 3, '8287']]);
  });

  it('a response: headers, padded DATA counted and checked against content-length, end', () => {
    const { c, events } = opened({ keepHeaders: true });
    c.openStream(hex('8287'), 'a');
    c.receive(Buffer.concat([HEADERS_200_LEN5(1), hex('000008 00 09 00000001  02 68656c6c6f 0000')]));
    expect(events).toEqual([['headers', 'a', 200, { 'content-length': '5' }], ['data', 'a', 'hello'], ['ended', 'a', undefined, false]]);
    expect(c.openStreams).toBe(0);
  });

  it('a body shorter than its content-length fails the request and resets the stream (PROTOCOL_ERROR)', () => {
    const { c, events, written } = opened();
    c.openStream(hex('8287'), 'a');
    written();
    c.receive(Buffer.concat([HEADERS_200_LEN5(1), hex('000002 00 01 00000001 6869')]));
    expect(events.at(-1)).toEqual(['ended', 'a', expect.stringMatching(/PROTOCOL_ERROR.*a body of 2 bytes where content-length said 5/), false]);
    expect(written()).toEqual([[3, 0, 1, '00000001']]);
  });

  it('DATA before the response headers and a response without :status are stream errors', () => {
    const { c, events } = opened();
    c.openStream(hex('8287'), 'a');
    c.openStream(hex('8287'), 'b');
    c.receive(hex('000001 00 00 00000001 61'));
    // content-length only, no :status.
    c.receive(hex('000004 01 05 00000003 0f0d0130'));
    expect(events).toEqual([
      ['ended', 'a', expect.stringMatching(/DATA before the response headers/), false],
      ['ended', 'b', expect.stringMatching(/without :status/), false],
    ]);
  });

  it('answers PING with an ACK carrying the same 8 octets, and ignores a PING ACK', () => {
    const { c, written } = opened();
    c.receive(hex('000008 06 00 00000000 0102030405060708'));
    c.receive(hex('000008 06 01 00000000 0102030405060708'));
    expect(written()).toEqual([[6, 1, 0, '0102030405060708']]);
  });

  it('keeps both receive windows open with WINDOW_UPDATE once half is consumed (Section 6.9)', () => {
    const { c, written } = opened({ streamWindow: 65_535, connectionWindow: 65_535 });
    c.openStream(hex('8287'), 'a');
    written();
    c.receive(hex('000001 01 04 00000001 88'));
    const data = Buffer.concat([hex('004000 00 00 00000001'), Buffer.alloc(16_384, 0x61)]);
    c.receive(Buffer.concat([data, data]));
    // 32,768 bytes consumed of 65,535: the connection and the stream get them back.
    expect(written()).toEqual([[8, 0, 0, '00008000'], [8, 0, 1, '00008000']]);
    expect(c.windows.windowUpdates).toEqual({ connection: 1, stream: 1 });
  });

  it('DATA beyond the stream window is a FLOW_CONTROL_ERROR of the stream (Section 6.9.1)', () => {
    const { c, events, written } = opened({ streamWindow: 100 });
    c.openStream(hex('8287'), 'a');
    c.receive(hex('000001 01 04 00000001 88'));
    written();
    c.receive(Buffer.concat([hex('000065 00 00 00000001'), Buffer.alloc(101, 0x61)]));
    expect(events.at(-1)).toEqual(['ended', 'a', expect.stringMatching(/FLOW_CONTROL_ERROR.*1 bytes beyond the stream window/), false]);
    expect(written()).toEqual([[3, 0, 1, '00000003']]);
    expect(c.failed).toBeUndefined();
  });

  it('RST_STREAM from the server fails the stream; REFUSED_STREAM marks it unprocessed (Section 8.7)', () => {
    const { c, events } = opened();
    c.openStream(hex('8287'), 'a');
    c.openStream(hex('8287'), 'b');
    c.receive(hex('000004 03 00 00000001 00000002'));
    c.receive(hex('000004 03 00 00000003 00000007'));
    expect(events).toEqual([
      ['ended', 'a', 'stream reset by the server (HTTP/2 error code INTERNAL_ERROR (0x2))', false],
      ['ended', 'b', 'stream reset by the server (HTTP/2 error code REFUSED_STREAM (0x7))', true],
    ]);
  });

  it('GOAWAY: streams above its last stream id end unprocessed, those below go on, no new streams (Section 6.8)', () => {
    const { c, events } = opened();
    c.openStream(hex('8287'), 'a');
    c.openStream(hex('8287'), 'b');
    c.receive(hex('000008 07 00 00000000 00000001 00000000'));
    expect(events).toEqual([['ended', 'b', expect.stringMatching(/GOAWAY NO_ERROR/), true], ['closing', undefined]]);
    expect(c.canOpenStream()).toBe(false);
    c.receive(Buffer.concat([HEADERS_200_LEN5(1), hex('000005 00 01 00000001 68656c6c6f')]));
    expect(events.at(-1)).toEqual(['ended', 'a', undefined, false]);
  });

  it('gathers HEADERS and CONTINUATION; any other frame between them is a connection error with GOAWAY', () => {
    const { c, events } = opened();
    c.openStream(hex('8287'), 'a');
    c.receive(Buffer.concat([hex('000001 01 00 00000001 88'), hex('000004 09 04 00000001 0f0d0130'), hex('000000 00 01 00000001')]));
    expect(events).toEqual([['headers', 'a', 200], ['ended', 'a', undefined, false]]);
    const t = opened();
    t.c.openStream(hex('8287'), 'a');
    t.written();
    t.c.receive(Buffer.concat([hex('000001 01 00 00000001 88'), hex('000008 06 00 00000000 0000000000000000')]));
    expect(t.events).toEqual([['ended', 'a', expect.stringMatching(/PROTOCOL_ERROR.*inside a header block/), false], ['closing', expect.stringMatching(/PROTOCOL_ERROR/)]]);
    expect(t.written()).toEqual([[7, 0, 0, expect.stringMatching(/^0000000000000001/)]]);
  });

  it('connection errors: a bad HPACK block (COMPRESSION_ERROR), PUSH_PROMISE, frames on streams never opened, a first frame other than SETTINGS', () => {
    const cases: Array<[Buffer, RegExp]> = [
      [hex('000001 01 04 00000001 80'), /COMPRESSION_ERROR/],
      [hex('000004 05 04 00000001 00000002'), /PROTOCOL_ERROR.*PUSH_PROMISE/],
      [hex('000001 00 00 00000005 61'), /PROTOCOL_ERROR.*stream 5, which we did not open/],
      [hex('000001 01 04 00000002 88'), /PROTOCOL_ERROR.*stream 2, which we did not open/],
      [hex('00000a 04 00 00000000 00000000000000000000'), /FRAME_SIZE_ERROR/],
    ];
    for (const [bytes, error] of cases) {
      const { c } = opened();
      c.openStream(hex('8287'), 'a');
      c.receive(bytes);
      expect(c.failed?.message, bytes.toString('hex')).toMatch(error);
    }
    const { c } = client();
    c.start();
    c.receive(hex('000008 06 00 00000000 0000000000000000'));
    expect(c.failed?.message).toMatch(/must begin with SETTINGS/);
  });

  it('the dynamic table is kept in step across streams, including one the client reset', () => {
    const { c, events } = opened();
    c.openStream(hex('8287'), 'a');
    c.openStream(hex('8287'), 'b');
    c.cancelStream(1);
    // Stream 1 (cancelled): :status 200 inserted with incremental indexing (0x48 "200"): dynamic index 62.
    c.receive(hex('000005 01 05 00000001 4803323030'));
    // Stream 3: index 62 (0xbe) must still be :status 200.
    c.receive(hex('000001 01 05 00000003 be'));
    expect(events).toEqual([['headers', 'b', 200], ['ended', 'b', undefined, false]]);
  });
});
