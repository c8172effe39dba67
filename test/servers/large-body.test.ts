/**
 * Bodies larger than one piece (servers/body.ts): every protocol's listener sends them whole, with
 * the exact content-length and every byte of the pattern in place, and the H1/H2 listeners write
 * the next piece only once the last was taken, so a client that stops reading does not make the
 * server hold the body in memory.
 */
import { connect as h2Connect } from 'node:http2';
import { request as httpsRequest } from 'node:https';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PATTERN_PIECE_BYTES } from '../../servers/body.ts';
import { DEFAULT_MAX_BODY_BYTES, patternByte } from '../../servers/handler.ts';
import { startServers, type RunningServers } from '../../servers/index.ts';
import { getDriver } from '../../src/drivers/index.ts';
import { PROTOCOLS } from '../../src/drivers/types.ts';
import { generateCertificate, type GeneratedCertificate } from '../../src/tls/cert.ts';

let cert: GeneratedCertificate;
let servers: RunningServers;

beforeAll(async () => {
  cert = await generateCertificate();
  servers = await startServers({ host: '127.0.0.1', protocols: [...PROTOCOLS], cert });
});
afterAll(() => servers?.close());

/** Three whole pieces and a part: every piece boundary, and a last piece shorter than the others. */
const SIZE = 3 * PATTERN_PIECE_BYTES + 1234;

/** The first offset whose byte is not the pattern's at `first` + offset (-1: none). */
function firstWrongByte(body: Uint8Array, first: number): number {
  for (let i = 0; i < body.length; i++) if (body[i] !== patternByte(first + i)) return i;
  return -1;
}

describe.each(PROTOCOLS)('%s listener, a body of several pieces', (protocol) => {
  it('arrives whole: the exact content-length and the pattern at every offset, also from a range inside a piece', async () => {
    const driver = await getDriver(protocol);
    const session = await driver.connect({ host: '127.0.0.1', port: servers.ports[protocol]!, servername: 'localhost', ca: cert.caPem });
    try {
      const whole = await session.request({ path: `/bytes/${SIZE}`, keepBody: true });
      expect(whole.status).toBe(200);
      expect(whole.responseHeaders?.['content-length']).toBe(String(SIZE));
      expect(whole.bytes).toBe(SIZE);
      expect(whole.body!.length).toBe(SIZE);
      expect(firstWrongByte(whole.body!, 0)).toBe(-1);

      const first = PATTERN_PIECE_BYTES - 100;
      const part = await session.request({ path: `/bytes/${SIZE}`, headers: { range: `bytes=${first}-` }, keepBody: true });
      expect(part.status).toBe(206);
      expect(part.responseHeaders?.['content-length']).toBe(String(SIZE - first));
      expect(part.body!.length).toBe(SIZE - first);
      expect(firstWrongByte(part.body!, first)).toBe(-1);
    } finally {
      await session.close();
    }
  });
});

describe('a client that stops reading the largest body', () => {
  /** Far below the body (1 GiB): what a piece, the socket's queue and the client's own buffers may add. */
  const HELD_AT_MOST = 48 * 2 ** 20;
  const path = `/bytes/${DEFAULT_MAX_BODY_BYTES}`;

  /** RSS growth once the server has been stuck behind the paused client for a while. */
  async function growthWhilePaused(open: (onHeaders: (contentLength: string | undefined) => void) => () => void): Promise<{ growth: number; contentLength?: string }> {
    const before = process.memoryUsage().rss;
    let contentLength: string | undefined;
    let close = () => {};
    await new Promise<void>((resolve) => {
      close = open((length) => {
        contentLength = length;
        resolve();
      });
    });
    try {
      await new Promise((r) => setTimeout(r, 700));
      return { growth: process.memoryUsage().rss - before, contentLength };
    } finally {
      close();
    }
  }

  it('h1: the server holds about a piece, not the body', async () => {
    const { growth, contentLength } = await growthWhilePaused((onHeaders) => {
      const req = httpsRequest({ host: '127.0.0.1', port: servers.ports.h1, path, servername: 'localhost', ca: cert.caPem, agent: false }, (res) => {
        res.pause();
        onHeaders(res.headers['content-length']);
      });
      req.on('error', () => {});
      req.end();
      return () => req.destroy();
    });
    expect(contentLength).toBe(String(DEFAULT_MAX_BODY_BYTES));
    expect(growth).toBeLessThan(HELD_AT_MOST);
  });

  it('h2: the server holds about a piece, not the body', async () => {
    const { growth, contentLength } = await growthWhilePaused((onHeaders) => {
      const session = h2Connect(`https://localhost:${servers.ports.h2}`, { ca: cert.caPem, host: '127.0.0.1' } as never);
      session.on('error', () => {});
      const stream = session.request({ ':path': path });
      stream.on('error', () => {});
      stream.pause();
      stream.on('response', (headers) => onHeaders(headers['content-length'] as string | undefined));
      return () => session.destroy();
    });
    expect(contentLength).toBe(String(DEFAULT_MAX_BODY_BYTES));
    expect(growth).toBeLessThan(HELD_AT_MOST);
  });
});
