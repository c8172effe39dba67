import { describe, expect, it } from 'vitest';
import { H3Connection, H3StreamBlockedError, type H3ConnectionOptions, type H3Event } from '../../src/h3/connection.ts';
import {
  H3_CLOSED_CRITICAL_STREAM,
  H3_EXCESSIVE_LOAD,
  H3_FRAME_ERROR,
  H3_FRAME_UNEXPECTED,
  H3_ID_ERROR,
  H3_MESSAGE_ERROR,
  H3_MISSING_SETTINGS,
  H3_NO_ERROR,
  H3_REQUEST_CANCELLED,
  H3_REQUEST_INCOMPLETE,
  H3_REQUEST_REJECTED,
  H3_SETTINGS_ERROR,
  H3_STREAM_CREATION_ERROR,
  QPACK_DECODER_STREAM_ERROR,
  QPACK_DECOMPRESSION_FAILED,
  QPACK_ENCODER_STREAM_ERROR,
} from '../../src/h3/errors.ts';
import {
  encodeCancelPushFrame,
  encodeDataFrame,
  encodeFrame,
  encodeFrameHeader,
  encodeGoawayFrame,
  encodeHeadersFrame,
  encodeMaxPushIdFrame,
  encodePushPromiseFrame,
  encodeSettingsFrame,
  FrameReader,
  isReservedCode,
  reservedCode,
  SETTINGS_MAX_FIELD_SECTION_SIZE,
} from '../../src/h3/frames.ts';
import { QpackDecoder, QpackEncoder } from '../../src/h3/qpack/index.ts';
import { encodeVarint } from '../../src/h3/varint.ts';
import { H3Pair, Pipe, type PipeEndpoint } from './pipe.ts';

const enc = new TextEncoder();
const dec = new TextDecoder();
const concat = (...parts: Uint8Array[]) => Uint8Array.from(Buffer.concat(parts));
const GET = (path = '/'): Array<[string, string]> => [
  [':method', 'GET'],
  [':scheme', 'https'],
  [':authority', 'example.test'],
  [':path', path],
];

/** A server that answers every request with `body(path)` and a trailer, read in small pieces. */
function echoServer(pair: H3Pair, body: (path: string) => Uint8Array = (p) => enc.encode(`you asked for ${p}`)): Map<number, Uint8Array> {
  const requestBodies = new Map<number, Uint8Array>();
  const pending = new Map<number, Uint8Array>();
  const pump = (conn: H3Connection, id: number) => {
    const rest = pending.get(id);
    if (!rest) return;
    const n = conn.sendBody(id, rest, true);
    if (n === rest.length) {
      pending.delete(id);
    } else pending.set(id, rest.subarray(n));
  };
  pair.onServerEvent = (ev, conn) => {
    if (ev.type === 'headers' && !ev.trailers) {
      const path = ev.headers.find(([n]) => n === ':path')![1];
      conn.sendResponse(ev.streamId, [[':status', '200'], ['x-path', path]], false);
      pending.set(ev.streamId, body(path));
      pump(conn, ev.streamId);
    } else if (ev.type === 'writable') {
      pump(conn, ev.streamId);
    } else if (ev.type === 'data') {
      requestBodies.set(ev.streamId, concat(requestBodies.get(ev.streamId) ?? new Uint8Array(0), readAll(conn, ev.streamId)));
    }
  };
  return requestBodies;
}

function readAll(conn: H3Connection, id: number, chunk = 7): Uint8Array {
  const parts: Uint8Array[] = [];
  const buf = new Uint8Array(chunk);
  for (let n = conn.recvBody(id, buf); n > 0; n = conn.recvBody(id, buf)) parts.push(buf.slice(0, n));
  return concat(...parts);
}

/** A client that collects response bodies per stream. */
function collectingClient(pair: H3Pair): Map<number, Uint8Array> {
  const bodies = new Map<number, Uint8Array>();
  pair.onClientEvent = (ev, conn) => {
    if (ev.type === 'data') bodies.set(ev.streamId, concat(bodies.get(ev.streamId) ?? new Uint8Array(0), readAll(conn, ev.streamId)));
  };
  return bodies;
}

const of = <T extends H3Event['type']>(events: H3Event[], type: T) => events.filter((e): e is Extract<H3Event, { type: T }> => e.type === type);

describe('H3Connection over the in-memory pipe', () => {
  it('exchanges SETTINGS (with GREASE) and ignores the peer GREASE stream', () => {
    const pair = new H3Pair({ server: { maxFieldSectionSize: 8192 }, client: { qpackMaxTableCapacity: 1024, qpackBlockedStreams: 7 } });
    pair.run();
    const [clientSaw] = of(pair.clientEvents, 'settings');
    const [serverSaw] = of(pair.serverEvents, 'settings');
    expect(clientSaw!.settings).toMatchObject({ qpackMaxTableCapacity: 4096, qpackBlockedStreams: 100, maxFieldSectionSize: 8192 });
    expect(serverSaw!.settings).toMatchObject({ qpackMaxTableCapacity: 1024, qpackBlockedStreams: 7, maxFieldSectionSize: undefined });
    expect([...clientSaw!.settings.raw.keys()].filter((id) => isReservedCode(id))).toHaveLength(1);
    expect([...serverSaw!.settings.raw.keys()].filter((id) => isReservedCode(id))).toHaveLength(1);
    // The 4th unidirectional stream of each side is the GREASE stream: the peer reads past it.
    expect(pair.pipe.server.streams.get(14)?.finRead).toBe(true);
    expect(pair.pipe.client.streams.get(15)?.finRead).toBe(true);
    expect(pair.pipe.client.closed).toBeUndefined();
    expect(pair.pipe.server.closed).toBeUndefined();
  });

  it('asks the transport to send its control and QPACK streams before any request stream (urgency 0)', () => {
    const pair = new H3Pair();
    pair.run();
    // RFC 9000 stream ids: client uni 2, 6, 10; server uni 3, 7, 11 (control, QPACK encoder, decoder).
    for (const [side, ids] of [
      [pair.pipe.client, [2, 6, 10]],
      [pair.pipe.server, [3, 7, 11]],
    ] as const) {
      for (const id of ids) expect(side.priorities.get(id), `stream ${id}`).toEqual({ urgency: 0, incremental: false });
    }
  });

  it('without grease sends no reserved setting and no fourth stream', () => {
    const pair = new H3Pair({ client: { grease: false } });
    pair.run();
    const [s] = of(pair.serverEvents, 'settings');
    expect([...s!.settings.raw.keys()].some((id) => isReservedCode(id))).toBe(false);
    expect(pair.pipe.client.streams.has(14)).toBe(false);
  });

  it('GET: response headers, body and trailers, read in small pieces', () => {
    const pair = new H3Pair();
    pair.onServerEvent = (ev, conn) => {
      if (ev.type === 'headers' && !ev.trailers) {
        conn.sendResponse(ev.streamId, [[':status', '200'], ['content-type', 'text/plain']], false);
        expect(conn.sendBody(ev.streamId, enc.encode('hello, '), false)).toBe(7);
        expect(conn.sendBody(ev.streamId, enc.encode('world'), false)).toBe(5);
        conn.sendTrailers(ev.streamId, [['x-digest', 'abc']]);
      }
    };
    const bodies = collectingClient(pair);
    const id = pair.client.sendRequest(GET('/hello'), true);
    pair.run();
    const serverHeaders = of(pair.serverEvents, 'headers');
    expect(serverHeaders).toEqual([{ type: 'headers', streamId: id, headers: GET('/hello'), fin: true }]);
    const clientHeaders = of(pair.clientEvents, 'headers');
    expect(clientHeaders[0]).toEqual({ type: 'headers', streamId: id, headers: [[':status', '200'], ['content-type', 'text/plain']], fin: false });
    expect(clientHeaders[1]).toEqual({ type: 'headers', streamId: id, headers: [['x-digest', 'abc']], fin: true, trailers: true });
    expect(dec.decode(bodies.get(id))).toBe('hello, world');
    expect(of(pair.clientEvents, 'finished')).toEqual([{ type: 'finished', streamId: id }]);
    // Order on the client: headers, data, trailers, finished.
    expect(pair.clientEvents.filter((e) => e.type !== 'settings').map((e) => e.type)).toEqual(['headers', 'data', 'headers', 'finished']);
    expect(pair.client.openStreams).toBe(0);
    expect(pair.server.openStreams).toBe(0);
  });

  it('POST with a body and request trailers, over 1-byte reads and a 100-byte flow-control window', () => {
    const pair = new H3Pair({ pipe: { maxRead: 1, streamWindow: 100 } });
    const requestBodies = echoServer(pair, () => new Uint8Array(5000).fill(0x61));
    const bodies = collectingClient(pair);
    const payload = Uint8Array.from({ length: 3000 }, (_, i) => i % 251);
    const id = pair.client.sendRequest([...GET('/upload'), ['content-length', '3000']].map(([n, v]) => [n, n === ':method' ? 'POST' : v]), false);
    let offset = 0;
    const push = () => {
      while (offset < payload.length) {
        const n = pair.client.sendBody(id, payload.subarray(offset), false);
        if (n === 0) return;
        offset += n;
      }
      pair.client.sendTrailers(id, [['x-sum', 'ok']]);
      offset = Infinity;
    };
    pair.onClientEvent = ((inner) => (ev: H3Event, conn: H3Connection) => {
      inner?.(ev, conn);
      if (ev.type === 'writable' && ev.streamId === id) push();
    })(pair.onClientEvent);
    push();
    pair.run();
    expect(offset).toBe(Infinity);
    expect(Buffer.from(requestBodies.get(id)!).equals(Buffer.from(payload))).toBe(true);
    expect(of(pair.serverEvents, 'headers').find((e) => e.trailers)?.headers).toEqual([['x-sum', 'ok']]);
    expect(bodies.get(id)?.length).toBe(5000);
    expect(of(pair.clientEvents, 'writable').length).toBeGreaterThan(0);
    expect(of(pair.clientEvents, 'finished')).toHaveLength(1);
  });

  it('100 concurrent requests on one connection, each with its own body', () => {
    const pair = new H3Pair({ pipe: { maxRead: 1000, streamWindow: 4096 } });
    echoServer(pair, (path) => enc.encode(path.repeat(200)));
    const bodies = collectingClient(pair);
    const ids = Array.from({ length: 100 }, (_, i) => pair.client.sendRequest(GET(`/item/${i}`), true));
    pair.run();
    expect(new Set(ids).size).toBe(100);
    ids.forEach((id, i) => expect(dec.decode(bodies.get(id))).toBe(`/item/${i}`.repeat(200)));
    expect(of(pair.clientEvents, 'finished')).toHaveLength(100);
    expect(pair.client.openStreams).toBe(0);
    expect(pair.server.openStreams).toBe(0);
  });

  it('uses the dynamic table: inserts once, references after, and the inserts are acknowledged', () => {
    const headers = [...GET('/a'), ['user-agent', 'bench-test-agent/1.0 (a long value worth indexing)'], ['x-custom-token', 'z'.repeat(60)]] as Array<[string, string]>;
    const measure = (serverCapacity: number) => {
      const pair = new H3Pair({ server: { qpackMaxTableCapacity: serverCapacity } });
      echoServer(pair);
      collectingClient(pair);
      pair.run(); // SETTINGS first, so the encoder may use the table
      const requestBytes: number[] = [];
      const encoderStreamBytes: number[] = [];
      for (let i = 0; i < 3; i++) {
        const id = pair.client.sendRequest(headers, true);
        pair.run();
        requestBytes.push(pair.pipe.client.streams.get(id)!.sent);
        encoderStreamBytes.push(pair.pipe.client.streams.get(6)!.sent);
      }
      expect(of(pair.serverEvents, 'headers').map((e) => e.headers)).toEqual([headers, headers, headers]);
      return { pair, requestBytes, encoderStreamBytes };
    };
    const literal = measure(0);
    const indexed = measure(4096);
    expect(literal.pair.client.qpackStats.encoderInsertCount).toBe(0);
    const stats = indexed.pair.client.qpackStats;
    expect(stats.encoderInsertCount).toBeGreaterThan(0);
    expect(stats.encoderKnownReceived).toBe(stats.encoderInsertCount);
    expect(indexed.pair.server.qpackStats.decoderInsertCount).toBe(stats.encoderInsertCount);
    // Entries go over the encoder stream once; every request then refers to them by index.
    expect(indexed.encoderStreamBytes[2]).toBe(indexed.encoderStreamBytes[0]);
    for (let i = 0; i < 3; i++) expect(indexed.requestBytes[i]).toBeLessThan(literal.requestBytes[i]! - 50);
  });

  it('a request blocked on the QPACK encoder stream is delivered once the inserts arrive', () => {
    const pair = new H3Pair();
    echoServer(pair);
    collectingClient(pair);
    pair.run();
    const headers = [...GET('/blocked'), ['x-fresh', 'a value the table has not seen yet']] as Array<[string, string]>;
    const id = pair.client.sendRequest(headers, true);
    // Deliver the request stream only; the client's encoder stream (ID 6) waits.
    pair.pipe.deliver((item, from) => from === pair.pipe.client && item.streamId === id);
    pair.server.process();
    expect(pair.server.qpackStats.decoderBlockedStreams).toBe(1);
    expect(pair.server.poll()).toBeNull();
    pair.run();
    expect(pair.server.qpackStats.decoderBlockedStreams).toBe(0);
    expect(of(pair.serverEvents, 'headers')[0]).toMatchObject({ streamId: id, headers, fin: true });
    expect(of(pair.clientEvents, 'finished')).toHaveLength(1);
  });

  it('with a zero-capacity table, nothing blocks and nothing is inserted', () => {
    const pair = new H3Pair({ server: { qpackMaxTableCapacity: 0 } });
    echoServer(pair);
    collectingClient(pair);
    pair.run();
    pair.client.sendRequest([...GET('/'), ['x-a', 'b'.repeat(40)]], true);
    pair.run();
    expect(pair.client.qpackStats.encoderInsertCount).toBe(0);
    expect(of(pair.clientEvents, 'finished')).toHaveLength(1);
  });

  it('1xx informational responses come before the final one', () => {
    const pair = new H3Pair();
    pair.onServerEvent = (ev, conn) => {
      if (ev.type === 'headers') {
        conn.sendResponse(ev.streamId, [[':status', '103'], ['link', '</a.css>; rel=preload']], false);
        conn.sendResponse(ev.streamId, [[':status', '204']], true);
      }
    };
    pair.client.sendRequest(GET(), true);
    pair.run();
    const h = of(pair.clientEvents, 'headers');
    expect(h.map((e) => [e.headers[0]![1], e.informational ?? false, e.fin])).toEqual([
      ['103', true, false],
      ['204', false, true],
    ]);
  });

  it('ignores GREASE frames on request streams and unknown unidirectional stream types', () => {
    const pair = new H3Pair();
    echoServer(pair);
    pair.run();
    const raw = pair.pipe.client;
    // A reserved stream type (0x21) and an unknown one (0x54): stopped with H3_STREAM_CREATION_ERROR.
    raw.streamSend(18, concat(encodeVarint(0x21), enc.encode('ignored')), false);
    raw.streamSend(22, concat(encodeVarint(0x54), enc.encode('ignored')), true);
    const qpack = new QpackEncoder({ maxTableCapacity: 0 });
    raw.streamSend(
      8,
      concat(
        encodeFrame(reservedCode(5), enc.encode('x')),
        encodeHeadersFrame(qpack.encodeFieldSection(8, GET('/g'))),
        encodeFrame(reservedCode(9), new Uint8Array(0)),
      ),
      true,
    );
    pair.run();
    expect(raw.streams.get(18)!.stoppedCode).toBe(H3_STREAM_CREATION_ERROR);
    expect(pair.pipe.server.streams.get(22)!.finRead).toBe(true); // all of it arrived at once: nothing left to stop
    expect(of(pair.serverEvents, 'headers').at(-1)).toMatchObject({ streamId: 8, headers: GET('/g') });
    expect(pair.pipe.server.closed).toBeUndefined();
  });

  it('a stream reset mid-body is reported and other requests keep working', () => {
    const pair = new H3Pair();
    echoServer(pair);
    const bodies = collectingClient(pair);
    const post = [[':method', 'POST'], ...GET().slice(1)] as Array<[string, string]>;
    const a = pair.client.sendRequest(post, false);
    pair.client.sendBody(a, new Uint8Array(100), false);
    pair.run();
    pair.client.resetStream(a, H3_REQUEST_CANCELLED);
    const b = pair.client.sendRequest(GET('/after'), true);
    pair.run();
    expect(of(pair.serverEvents, 'reset')).toEqual([{ type: 'reset', streamId: a, code: H3_REQUEST_CANCELLED }]);
    expect(dec.decode(bodies.get(b))).toBe('you asked for /after');
    expect(pair.server.openStreams).toBe(0);
    expect(pair.client.openStreams).toBe(0);
  });

  it('GOAWAY: the client is told, new requests are refused, unprocessed ones fail with H3_REQUEST_REJECTED', () => {
    const pair = new H3Pair();
    const answered: number[] = [];
    pair.onServerEvent = (ev, conn) => {
      if (ev.type === 'headers') {
        answered.push(ev.streamId);
        conn.sendResponse(ev.streamId, [[':status', '200']], true);
      }
    };
    const first = pair.client.sendRequest(GET('/1'), true);
    pair.run();
    pair.server.sendGoaway(); // first stream not received: 4
    const late = pair.client.sendRequest(GET('/2'), true); // crosses the GOAWAY on the wire
    pair.run();
    expect(of(pair.clientEvents, 'goaway')).toEqual([{ type: 'goaway', id: 4 }]);
    expect(answered).toEqual([first]);
    expect(of(pair.clientEvents, 'reset')).toEqual([{ type: 'reset', streamId: late, code: H3_REQUEST_REJECTED }]);
    expect(() => pair.client.sendRequest(GET('/3'), true)).toThrow(expect.objectContaining({ code: H3_REQUEST_REJECTED }));
    expect(pair.client.canSendRequest()).toBe(false);
    expect(() => pair.server.sendGoaway(8)).toThrow(RangeError);
    expect(pair.pipe.server.closed).toBeUndefined();
  });

  it('sendRequest throws H3StreamBlockedError at the stream limit and recovers when streams finish', () => {
    const pair = new H3Pair({ pipe: { maxBidiStreams: 2 } });
    echoServer(pair);
    collectingClient(pair);
    pair.client.sendRequest(GET('/1'), true);
    pair.client.sendRequest(GET('/2'), true);
    expect(pair.client.canSendRequest()).toBe(false);
    expect(() => pair.client.sendRequest(GET('/3'), true)).toThrow(H3StreamBlockedError);
    pair.run();
    expect(pair.client.canSendRequest()).toBe(true);
    pair.client.sendRequest(GET('/3'), true);
    pair.run();
    expect(of(pair.clientEvents, 'finished')).toHaveLength(3);
  });

  it('oversized request headers get a 431 and the connection stays up', () => {
    const pair = new H3Pair({ server: { maxFieldSectionSize: 1000 } });
    echoServer(pair);
    pair.run();
    // The client honours the announced limit...
    expect(() => pair.client.sendRequest([...GET(), ['x-big', 'v'.repeat(2000)]], true)).toThrow(
      expect.objectContaining({ code: H3_EXCESSIVE_LOAD }),
    );
    expect(pair.client.openStreams).toBe(0);
    // ...a client that ignores it gets 431, and the connection stays usable.
    const p = new ScriptedPeer('server', { conn: { maxFieldSectionSize: 1000 } });
    p.raw.streamSend(0, p.headers(0, [...GET(), ['x-big', 'v'.repeat(2000)]]), false);
    p.run();
    expect(p.responseHeaders(0)).toEqual([[':status', '431']]);
    expect(p.raw.streams.get(0)!.stoppedCode).toBe(H3_NO_ERROR);
    expect(of(p.events, 'headers')).toHaveLength(0);
    p.raw.streamSend(4, p.headers(4, GET('/small')), true);
    p.run();
    expect(of(p.events, 'headers')).toMatchObject([{ streamId: 4, headers: GET('/small') }]);
    expect(p.closeCode).toBeUndefined();
  });

  it('oversized response headers reset the stream with H3_EXCESSIVE_LOAD on the client', () => {
    const pair = new H3Pair({ client: { maxFieldSectionSize: 500 } });
    pair.onServerEvent = (ev, conn) => {
      if (ev.type === 'headers') {
        // Written past the limit on purpose (the server's own check would refuse it).
        const raw = new QpackEncoder({ maxTableCapacity: 0 });
        pair.pipe.server.streamSend(ev.streamId, encodeHeadersFrame(raw.encodeFieldSection(ev.streamId, [[':status', '200'], ['x-big', 'v'.repeat(900)]])), true);
        void conn;
      }
    };
    const id = pair.client.sendRequest(GET(), true);
    pair.run();
    expect(of(pair.clientEvents, 'reset')).toEqual([{ type: 'reset', streamId: id, code: H3_EXCESSIVE_LOAD }]);
    expect(pair.pipe.client.closed).toBeUndefined();
  });
});

// ------------------------------------------------------------------ error paths with a scripted peer

/** Our server (or client) facing a peer that writes raw bytes on the pipe. */
class ScriptedPeer {
  readonly pipe = new Pipe();
  readonly conn: H3Connection;
  readonly raw: PipeEndpoint;
  readonly events: H3Event[] = [];
  readonly qpack = new QpackEncoder({ maxTableCapacity: 0 });

  constructor(
    readonly ourRole: 'server' | 'client',
    opts: { settings?: boolean; conn?: Partial<H3ConnectionOptions> } = {},
  ) {
    this.conn = new H3Connection(ourRole === 'server' ? this.pipe.server : this.pipe.client, {
      grease: false,
      ...opts.conn,
      isServer: ourRole === 'server',
    });
    this.raw = ourRole === 'server' ? this.pipe.client : this.pipe.server;
    if (opts.settings ?? true) this.raw.streamSend(this.uni(0), concat(Uint8Array.of(0x00), encodeSettingsFrame([])), false);
  }

  /** The peer's n-th unidirectional stream ID. */
  uni(n: number): number {
    return (this.ourRole === 'server' ? 2 : 3) + 4 * n;
  }

  headers(streamId: number, headers: Array<[string, string]>): Uint8Array {
    return encodeHeadersFrame(this.qpack.encodeFieldSection(streamId, headers));
  }

  /** Decodes the header sections our side sent on a stream (static table only: we announced capacity 0). */
  responseHeaders(streamId: number): Array<[string, string]> {
    const s = this.raw.streams.get(streamId)!;
    const reader = new FrameReader(this.ourRole === 'server' ? 'response' : 'request');
    for (const c of s.recvChunks) reader.push(c);
    const decoder = new QpackDecoder({ maxTableCapacity: 0, maxBlockedStreams: 0 });
    for (let ev = reader.next(); ev; ev = reader.next()) {
      if (ev.kind === 'frame' && ev.frame.type === 'headers') {
        const r = decoder.decodeFieldSection(streamId, ev.frame.fieldSection);
        if (r.status === 'done') return r.headers;
      }
    }
    throw new Error(`no header section on stream ${streamId}`);
  }

  run(): this {
    for (let i = 0; i < 50; i++) {
      this.pipe.deliver();
      this.conn.process();
      for (let ev = this.conn.poll(); ev; ev = this.conn.poll()) {
        this.events.push(ev);
        if (ev.type === 'data') readAll(this.conn, ev.streamId);
      }
    }
    return this;
  }

  /** The code our side closed the connection with (io.close), if it did. */
  get closeCode(): number | undefined {
    const closed = (this.ourRole === 'server' ? this.pipe.server : this.pipe.client).closed;
    if (closed) expect(closed.app).toBe(true);
    return closed?.code;
  }

  /** The code our side reset stream `id` with (RESET_STREAM), if it did. */
  resetCode(id: number): number | undefined {
    return this.raw.streams.get(id)?.resetCode;
  }
}

describe('connection errors close with the RFC code', () => {
  const cases: Array<[string, number, (p: ScriptedPeer) => void, ('server' | 'client')?, { settings: false }?]> = [
    ['control stream closed (fin)', H3_CLOSED_CRITICAL_STREAM, (p) => p.raw.streamSend(p.uni(0), new Uint8Array(0), true)],
    ['control stream reset', H3_CLOSED_CRITICAL_STREAM, (p) => p.raw.streamShutdown(p.uni(0), 'write', 0x100)],
    ['QPACK encoder stream closed', H3_CLOSED_CRITICAL_STREAM, (p) => p.raw.streamSend(p.uni(1), Uint8Array.of(0x02), true)],
    ['QPACK decoder stream reset', H3_CLOSED_CRITICAL_STREAM, (p) => {
      p.raw.streamSend(p.uni(1), Uint8Array.of(0x03), false);
      p.pipe.deliver();
      p.conn.process();
      p.raw.streamShutdown(p.uni(1), 'write', 0x100);
    }],
    ['our control stream stopped', H3_CLOSED_CRITICAL_STREAM, (p) => {
      p.raw.streamShutdown(3, 'read', 0x100);
      p.pipe.deliver();
      expect(() => p.conn.sendGoaway()).toThrow(expect.objectContaining({ code: H3_CLOSED_CRITICAL_STREAM }));
    }],
    ['second control stream', H3_STREAM_CREATION_ERROR, (p) => p.raw.streamSend(p.uni(1), concat(Uint8Array.of(0x00), encodeSettingsFrame([])), false)],
    ['second QPACK encoder stream', H3_STREAM_CREATION_ERROR, (p) => {
      p.raw.streamSend(p.uni(1), Uint8Array.of(0x02), false);
      p.raw.streamSend(p.uni(2), Uint8Array.of(0x02), false);
    }],
    ['push stream opened by a client', H3_STREAM_CREATION_ERROR, (p) => p.raw.streamSend(p.uni(1), Uint8Array.of(0x01, 0x00), false)],
    ['push stream without MAX_PUSH_ID', H3_ID_ERROR, (p) => p.raw.streamSend(p.uni(1), Uint8Array.of(0x01, 0x00), false), 'client'],
    ['server-initiated bidirectional stream', H3_STREAM_CREATION_ERROR, (p) => p.raw.streamSend(1, p.headers(1, [[':status', '200']]), false), 'client'],
    ['first control frame is not SETTINGS', H3_MISSING_SETTINGS, (p) => p.raw.streamSend(p.uni(0), concat(Uint8Array.of(0x00), encodeGoawayFrame(0)), false), 'server', { settings: false }],
    ['first control frame is a GREASE frame', H3_MISSING_SETTINGS, (p) => p.raw.streamSend(p.uni(0), concat(Uint8Array.of(0x00), encodeFrame(reservedCode(2), new Uint8Array(0))), false), 'server', { settings: false }],
    ['second SETTINGS', H3_FRAME_UNEXPECTED, (p) => p.raw.streamSend(p.uni(0), encodeSettingsFrame([]), false)],
    ['DATA on the control stream', H3_FRAME_UNEXPECTED, (p) => p.raw.streamSend(p.uni(0), encodeDataFrame(Uint8Array.of(1)), false)],
    ['HTTP/2 PING frame on a request stream', H3_FRAME_UNEXPECTED, (p) => p.raw.streamSend(0, encodeFrame(0x06, new Uint8Array(8)), false)],
    ['DATA before HEADERS', H3_FRAME_UNEXPECTED, (p) => p.raw.streamSend(0, encodeDataFrame(Uint8Array.of(1)), false)],
    ['HEADERS after trailers', H3_FRAME_UNEXPECTED, (p) =>
      p.raw.streamSend(0, concat(p.headers(0, GET()), p.headers(0, [['x-t', '1']]), p.headers(0, [['x-t', '2']])), false)],
    ['DATA after trailers', H3_FRAME_UNEXPECTED, (p) =>
      p.raw.streamSend(0, concat(p.headers(0, GET()), p.headers(0, [['x-t', '1']]), encodeDataFrame(Uint8Array.of(1))), false)],
    ['MAX_PUSH_ID sent to a client', H3_FRAME_UNEXPECTED, (p) => p.raw.streamSend(p.uni(0), encodeMaxPushIdFrame(1), false), 'client'],
    ['duplicate setting', H3_SETTINGS_ERROR, (p) => p.raw.streamSend(p.uni(0), concat(Uint8Array.of(0x00), encodeSettingsFrame([[6, 1], [6, 2]])), false), 'server', { settings: false }],
    ['HTTP/2 setting identifier', H3_SETTINGS_ERROR, (p) => p.raw.streamSend(p.uni(0), concat(Uint8Array.of(0x00), encodeSettingsFrame([[0x04, 65535]])), false), 'server', { settings: false }],
    ['request stream ends inside a frame', H3_FRAME_ERROR, (p) => p.raw.streamSend(0, concat(encodeFrameHeader(0x01, 10), Uint8Array.of(0, 0)), true)],
    ['GOAWAY with a two-varint payload', H3_FRAME_ERROR, (p) => p.raw.streamSend(p.uni(0), Uint8Array.of(0x07, 0x02, 0x00, 0x00), false)],
    ['GOAWAY naming a non-request stream', H3_ID_ERROR, (p) => p.raw.streamSend(p.uni(0), encodeGoawayFrame(3), false), 'client'],
    ['GOAWAY that increases', H3_ID_ERROR, (p) => p.raw.streamSend(p.uni(0), concat(encodeGoawayFrame(4), encodeGoawayFrame(8)), false), 'client'],
    ['MAX_PUSH_ID that decreases', H3_ID_ERROR, (p) => p.raw.streamSend(p.uni(0), concat(encodeMaxPushIdFrame(5), encodeMaxPushIdFrame(4)), false)],
    ['CANCEL_PUSH for a push never promised', H3_ID_ERROR, (p) => p.raw.streamSend(p.uni(0), encodeCancelPushFrame(0), false)],
    ['PUSH_PROMISE sent by a client', H3_FRAME_UNEXPECTED, (p) => p.raw.streamSend(0, encodePushPromiseFrame(0, Uint8Array.of(0, 0)), false)],
    ['PUSH_PROMISE without MAX_PUSH_ID', H3_ID_ERROR, (p) => {
      p.conn.sendRequest(GET(), true);
      p.pipe.deliver();
      p.raw.streamSend(0, encodePushPromiseFrame(0, Uint8Array.of(0, 0)), false);
    }, 'client'],
    ['bad QPACK field section', QPACK_DECOMPRESSION_FAILED, (p) => p.raw.streamSend(0, encodeHeadersFrame(Uint8Array.of(0x00, 0x00, 0xff)), false)],
    ['bad QPACK encoder stream', QPACK_ENCODER_STREAM_ERROR, (p) => p.raw.streamSend(p.uni(1), Uint8Array.of(0x02, 0x3f, 0xff, 0xff, 0xff, 0xff, 0x7f), false)],
    ['bad QPACK decoder stream', QPACK_DECODER_STREAM_ERROR, (p) => p.raw.streamSend(p.uni(1), Uint8Array.of(0x03, 0x80), false)],
  ];

  it.each(cases)('%s -> %i', (_name, code, script, role = 'server', opts) => {
    const p = new ScriptedPeer(role, opts);
    p.run();
    expect(p.closeCode).toBeUndefined();
    script(p);
    p.run();
    expect(p.closeCode?.toString(16)).toBe(code.toString(16));
    const errors = of(p.events, 'connection-error');
    expect(errors).toHaveLength(1);
    expect(errors[0]!.code).toBe(code);
    // Once failed, the connection refuses work with the same error.
    expect(() => p.conn.sendGoaway()).toThrow(expect.objectContaining({ code }));
  });
});

describe('stream errors reset only their stream', () => {
  const cases: Array<[string, number, (p: ScriptedPeer) => void]> = [
    ['uppercase field name', H3_MESSAGE_ERROR, (p) => p.raw.streamSend(0, p.headers(0, [...GET(), ['X-Upper', '1']]), true)],
    ['missing :path', H3_MESSAGE_ERROR, (p) => p.raw.streamSend(0, p.headers(0, GET().filter(([n]) => n !== ':path')), true)],
    ['missing :method', H3_MESSAGE_ERROR, (p) => p.raw.streamSend(0, p.headers(0, GET().filter(([n]) => n !== ':method')), true)],
    ['missing :scheme', H3_MESSAGE_ERROR, (p) => p.raw.streamSend(0, p.headers(0, GET().filter(([n]) => n !== ':scheme')), true)],
    ['missing :authority and host', H3_MESSAGE_ERROR, (p) => p.raw.streamSend(0, p.headers(0, GET().filter(([n]) => n !== ':authority')), true)],
    ['response pseudo-field in a request', H3_MESSAGE_ERROR, (p) => p.raw.streamSend(0, p.headers(0, [...GET(), [':status', '200']]), true)],
    ['pseudo-field after a regular field', H3_MESSAGE_ERROR, (p) => p.raw.streamSend(0, p.headers(0, [['accept', '*/*'], ...GET()]), true)],
    ['duplicate pseudo-field', H3_MESSAGE_ERROR, (p) => p.raw.streamSend(0, p.headers(0, ([...GET(), [':path', '/x']] as Array<[string, string]>).sort((a, b) => (a[0] < b[0] ? -1 : 1))), true)],
    ['connection-specific field', H3_MESSAGE_ERROR, (p) => p.raw.streamSend(0, p.headers(0, [...GET(), ['connection', 'keep-alive']]), true)],
    ['transfer-encoding', H3_MESSAGE_ERROR, (p) => p.raw.streamSend(0, p.headers(0, [...GET(), ['transfer-encoding', 'chunked']]), true)],
    ['te other than trailers', H3_MESSAGE_ERROR, (p) => p.raw.streamSend(0, p.headers(0, [...GET(), ['te', 'gzip']]), true)],
    ['CR in a value', H3_MESSAGE_ERROR, (p) => p.raw.streamSend(0, p.headers(0, [...GET(), ['x-a', 'a\rb']]), true)],
    ['body longer than content-length', H3_MESSAGE_ERROR, (p) =>
      p.raw.streamSend(0, concat(p.headers(0, [...GET(), ['content-length', '2']]), encodeDataFrame(Uint8Array.of(1, 2, 3))), true)],
    ['body shorter than content-length', H3_MESSAGE_ERROR, (p) =>
      p.raw.streamSend(0, concat(p.headers(0, [...GET(), ['content-length', '5']]), encodeDataFrame(Uint8Array.of(1, 2, 3))), true)],
    ['pseudo-field in trailers', H3_MESSAGE_ERROR, (p) => p.raw.streamSend(0, concat(p.headers(0, GET()), p.headers(0, [[':path', '/']])), true)],
    ['stream ends before HEADERS', H3_REQUEST_INCOMPLETE, (p) => p.raw.streamSend(0, encodeFrame(reservedCode(1), Uint8Array.of(1)), true)],
  ];

  it.each(cases)('%s -> %i', (_name, code, script) => {
    const p = new ScriptedPeer('server');
    p.run();
    script(p);
    p.run();
    expect(p.resetCode(0)?.toString(16)).toBe(code.toString(16));
    expect(p.closeCode).toBeUndefined();
    // The connection still serves the next request.
    p.raw.streamSend(4, p.headers(4, GET('/next')), true);
    p.run();
    expect(of(p.events, 'headers').at(-1)).toMatchObject({ streamId: 4, headers: GET('/next') });
  });

  it('a malformed response is reported to the client as a reset with H3_MESSAGE_ERROR', () => {
    const p = new ScriptedPeer('client');
    p.run();
    const id = p.conn.sendRequest(GET(), true);
    p.run();
    p.raw.streamSend(id, p.headers(id, [[':status', '2000']]), false);
    p.run();
    expect(of(p.events, 'reset')).toEqual([{ type: 'reset', streamId: id, code: H3_MESSAGE_ERROR }]);
    expect(p.raw.streams.get(id)!.stoppedCode).toBe(H3_MESSAGE_ERROR);
    expect(p.closeCode).toBeUndefined();
  });

  it('a HEAD response with content-length and no body is accepted', () => {
    const p = new ScriptedPeer('client');
    p.run();
    const id = p.conn.sendRequest([[':method', 'HEAD'], ...GET().slice(1)], true);
    p.run();
    p.raw.streamSend(id, p.headers(id, [[':status', '200'], ['content-length', '1234']]), true);
    p.run();
    expect(of(p.events, 'finished')).toEqual([{ type: 'finished', streamId: id }]);
  });

  it('SETTINGS_MAX_FIELD_SECTION_SIZE from the peer is honoured when sending', () => {
    const p = new ScriptedPeer('client', { settings: false });
    p.raw.streamSend(3, concat(Uint8Array.of(0x00), encodeSettingsFrame([[SETTINGS_MAX_FIELD_SECTION_SIZE, 200]])), false);
    p.run();
    expect(() => p.conn.sendRequest([...GET(), ['x-long', 'y'.repeat(200)]], true)).toThrow(expect.objectContaining({ code: H3_EXCESSIVE_LOAD }));
    expect(p.conn.sendRequest(GET(), true)).toBe(0);
  });
});
