/**
 * The HTTP/1.1 response parser against hand-written responses (RFC 9112): framing by Content-Length,
 * chunked (with extensions and trailers), to the close; 1xx heads skipped; keep-alive decided by
 * the version, Connection and the framing; every split of the bytes gives the same events.
 */
import { describe, expect, it } from 'vitest';
import { H1ParseError, H1ResponseParser } from '../../src/h1/response.ts';

type Event = [string, ...unknown[]];

function parse(text: string, opts: { keepHeaders?: boolean; split?: number; close?: boolean } = {}): Event[] {
  const events: Event[] = [];
  const p = new H1ResponseParser(
    {
      head: (status, fields) => events.push(['head', status, ...(fields ? [fields] : [])]),
      data: (bytes, start, end) => {
        const last = events.at(-1);
        const chunk = bytes.toString('latin1', start, end);
        if (last?.[0] === 'data') last[1] = `${last[1] as string}${chunk}`;
        else events.push(['data', chunk]);
      },
      complete: (keepAlive) => events.push(['complete', keepAlive]),
    },
    opts.keepHeaders,
  );
  p.expect();
  const bytes = Buffer.from(text, 'latin1');
  const step = opts.split ?? bytes.length;
  for (let i = 0; i < bytes.length; i += step) p.push(bytes.subarray(i, i + step));
  if (opts.close) p.closed();
  return events;
}

const SPLITS = [undefined, 1, 2, 3, 7];

describe('HTTP/1.1 response parser', () => {
  it('Content-Length: the body is exactly that long, the connection kept', () => {
    const text = 'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\nDate: x\r\n\r\nhello';
    for (const split of SPLITS) {
      expect(parse(text, { split }), String(split)).toEqual([['head', 200], ['data', 'hello'], ['complete', true]]);
    }
    expect(parse(text, { keepHeaders: true })[0]).toEqual(['head', 200, { 'content-type': 'text/plain', 'content-length': '5', date: 'x' }]);
  });

  it('chunked (RFC 9112 Section 7.1): sizes in hex, extensions ignored, trailers skipped', () => {
    const text = 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nWiki\r\n6;ext=1\r\npedia \r\nE\r\nin \r\n\r\nchunks.\r\n0\r\nExpires: never\r\n\r\n';
    for (const split of SPLITS) {
      expect(parse(text, { split }), String(split)).toEqual([['head', 200], ['data', 'Wikipedia in \r\n\r\nchunks.'], ['complete', true]]);
    }
  });

  it('skips 1xx heads; 204 and 304 have no body; Connection: close and HTTP/1.0 end the connection', () => {
    expect(parse('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\na')).toEqual([['head', 200], ['data', 'a'], ['complete', true]]);
    expect(parse('HTTP/1.1 204 No Content\r\nContent-Length: 7\r\n\r\n')).toEqual([['head', 204], ['complete', true]]);
    expect(parse('HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 1\r\n\r\na')).toEqual([['head', 200], ['data', 'a'], ['complete', false]]);
    expect(parse('HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\na')).toEqual([['head', 200], ['data', 'a'], ['complete', false]]);
    expect(parse('HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 1\r\n\r\na')).toEqual([['head', 200], ['data', 'a'], ['complete', true]]);
  });

  it('without a length the body runs to the close (Section 6.3)', () => {
    expect(parse('HTTP/1.1 200 OK\r\n\r\nall of it', { close: true })).toEqual([['head', 200], ['data', 'all of it'], ['complete', false]]);
  });

  it('rejects malformed responses and bodies cut short', () => {
    const bad = [
      'HTTP/2 200 OK\r\n\r\n',
      'HTTP/1.1 20 OK\r\n\r\n',
      'HTTP/1.1 200 OK\r\nno colon here\r\n\r\n',
      'HTTP/1.1 200 OK\r\nContent-Length: 1x\r\n\r\n',
      'HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n',
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n',
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nab\r\n',
      'HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nab',
    ];
    for (const text of bad) expect(() => parse(text), JSON.stringify(text)).toThrow(H1ParseError);
    expect(() => parse('HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhel', { close: true })).toThrow(/closed before the response ended/);
  });
});
