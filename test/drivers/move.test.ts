/**
 * Moving a session to another local address (ClientSession.moveTo) and recovering a lost TCP
 * connection (ConnectOptions.reconnect), on loopback where 127.0.0.1 and 127.0.0.2 are two local
 * addresses. The servers' side is observed independently: for h1/h2 node's own server records
 * every request (client address, Range header) and sends slowly, so a move lands mid-download;
 * for h3 the listener reports the address it now sends to.
 */
import { createSecureServer, type Http2ServerRequest, type Http2ServerResponse } from 'node:http2';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startH3Listener, type RunningH3Listener } from '../../servers/h3.ts';
import { byteRange, createHandler, patternByte } from '../../servers/handler.ts';
import { getDriver } from '../../src/drivers/index.ts';
import type { ConnectOptions, RequestRecord } from '../../src/drivers/types.ts';
import { generateCertificate, type GeneratedCertificate } from '../../src/tls/cert.ts';

const FIRST = '127.0.0.1';
const SECOND = '127.0.0.2';
const SLOW_BYTES = 1_500_000;
const CHUNK = 16_384;

let cert: GeneratedCertificate;
let tcp: ReturnType<typeof createSecureServer>;
let h3: RunningH3Listener;

interface Seen {
  path: string;
  httpVersion: string;
  remoteAddress: string;
  range?: string;
  /** Body bytes written so far. */
  written: number;
}
const seen: Seen[] = [];

/**
 * `/slow/<n>`: n pattern bytes in 16 KB chunks every 5 ms, honouring Range (unless `?norange`);
 * `?reset=<bytes>`: the first attempt's connection is closed after that many bytes (a broken path);
 * `?hang=<bytes>`: the first attempt goes silent after that many bytes, its connection left open.
 */
function slowRoute(req: IncomingMessage | Http2ServerRequest, res: ServerResponse | Http2ServerResponse): void {
  const url = new URL(req.url ?? '/', 'https://x');
  const n = Number(url.pathname.split('/')[2]);
  const range = typeof req.headers.range === 'string' ? req.headers.range : undefined;
  const entry: Seen = { path: url.pathname + url.search, httpVersion: req.httpVersion, remoteAddress: req.socket.remoteAddress ?? '', range, written: 0 };
  seen.push(entry);
  const part = range && !url.searchParams.has('norange') ? byteRange(range, n) : undefined;
  const [first, last] = part && part !== 'unsatisfiable' ? [part.first, part.last] : [0, n - 1];
  const headers = { 'content-type': 'application/octet-stream', 'content-length': String(last - first + 1) };
  if (part && part !== 'unsatisfiable') (res as ServerResponse).writeHead(206, { ...headers, 'content-range': `bytes ${first}-${last}/${n}` });
  else (res as ServerResponse).writeHead(200, headers);
  const firstAttempt = seen.filter((s) => s.path === entry.path).length === 1;
  const resetAfter = url.searchParams.has('reset') && firstAttempt ? Number(url.searchParams.get('reset')) : Infinity;
  const hangAfter = url.searchParams.has('hang') && firstAttempt ? Number(url.searchParams.get('hang')) : Infinity;
  let offset = first;
  const timer = setInterval(() => {
    if (res.destroyed) return clearInterval(timer);
    if (entry.written >= resetAfter) {
      clearInterval(timer);
      // The connection goes away under the response, as one a NAT forgot does.
      if ('stream' in req) req.stream.session?.destroy();
      else req.socket.destroy();
      return;
    }
    // Silent from here on, the connection left open: as when a NAT forgot the client mid-download.
    if (entry.written >= hangAfter) return;
    const end = Math.min(last + 1, offset + CHUNK);
    const chunk = Buffer.alloc(end - offset);
    for (let i = 0; i < chunk.length; i++) chunk[i] = patternByte(offset + i);
    offset = end;
    entry.written += chunk.length;
    if (offset > last) {
      clearInterval(timer);
      res.end(chunk);
    } else (res as ServerResponse).write(chunk);
  }, 5);
  res.once('close', () => clearInterval(timer));
}

beforeAll(async () => {
  cert = await generateCertificate();
  tcp = createSecureServer({ cert: cert.certPem, key: cert.keyPem, allowHTTP1: true }, (req, res) => slowRoute(req, res));
  await new Promise<void>((resolve) => tcp.listen(0, FIRST, resolve));
  h3 = await startH3Listener({ host: FIRST, port: 0, cert: cert.certPem, key: cert.keyPem, handler: createHandler() });
});
afterAll(async () => {
  await h3?.close();
  await new Promise((resolve) => tcp?.close(resolve));
});

const tcpTarget = () => ({ host: FIRST, port: (tcp.address() as AddressInfo).port, servername: 'localhost', ca: cert.caPem });

async function until(cond: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

function expectPattern(record: RequestRecord, size: number): void {
  expect(record.bytes).toBe(size);
  expect(record.body!.byteLength).toBe(size);
  for (let i = 0; i < size; i += 9973) expect(record.body![i]).toBe(patternByte(i));
  expect(record.body![size - 1]).toBe(patternByte(size - 1));
}

/** A download sent again once after its connection broke: whole, and the server asked for the rest with Range. */
function expectResumedOnce(record: RequestRecord, path: string, atLeast: number): void {
  expect(record.error).toBeUndefined();
  expectPattern(record, SLOW_BYTES);
  expect(record.retries).toBe(1);
  expect(record.resumedFrom).toBeGreaterThanOrEqual(atLeast);
  const attempts = seen.filter((s) => s.path === path);
  expect(attempts).toHaveLength(2);
  expect(attempts[1]!.range).toBe(`bytes=${record.resumedFrom}-`);
}

describe.each(['h1', 'h2'] as const)('%s: a move reconnects from the new address', (protocol) => {
  const connect = async (opts: ConnectOptions = {}) => (await getDriver(protocol)).connect(tcpTarget(), { localAddress: FIRST, ...opts });

  it('resumes the download in flight with Range, resumed TLS, from the new address', async () => {
    const session = await connect();
    try {
      const path = `/slow/${SLOW_BYTES}?move=${protocol}`;
      const download = session.request({ path, keepBody: true });
      await until(() => (seen.find((s) => s.path === path)?.written ?? 0) >= 300_000);
      const outcome = await session.moveTo(SECOND);
      const during = session.request({ path: `/slow/1000?during=${protocol}` });
      const record = await download;
      expect(outcome).toBe('reconnected');
      expect(record.error).toBeUndefined();
      expect(record.status).toBe(200);
      expectPattern(record, SLOW_BYTES);
      expect(record.retries).toBe(1);
      expect(record.resumedFrom).toBeGreaterThanOrEqual(CHUNK);
      expect(record.refetchedBytes ?? 0).toBe(0);
      expect(record.localAddress).toBe(SECOND);
      // The server's view: the first attempt from the first address, the rest asked for from the second.
      const attempts = seen.filter((s) => s.path === path);
      expect(attempts.map((s) => s.remoteAddress)).toEqual([FIRST, SECOND]);
      expect(attempts[1]!.range).toBe(`bytes=${record.resumedFrom}-`);
      expect(attempts[1]!.httpVersion).toBe(protocol === 'h1' ? '1.1' : '2.0');
      const after = await during;
      expect(after.status).toBe(200);
      expect(after.localAddress).toBe(SECOND);
      expect(seen.find((s) => s.path.includes(`during=${protocol}`))!.remoteAddress).toBe(SECOND);
      // The connection left behind is closed; the new one resumed the TLS session.
      const [left, ...later] = session.connections;
      expect(left!.localAddress).toBe(FIRST);
      expect(left!.closed).toBeDefined();
      expect(later.length).toBeGreaterThanOrEqual(1);
      expect(later.every((c) => c.localAddress === SECOND && c.resumed)).toBe(true);
      expect(later.map((c) => c.id)).toContain(record.connectionId);
    } finally {
      await session.close();
    }
  });

  it('a server that ignores the Range sends it all again: counted as downloaded twice', async () => {
    const session = await connect();
    try {
      const path = `/slow/${SLOW_BYTES}?norange&move=${protocol}`;
      const download = session.request({ path, keepBody: true });
      await until(() => (seen.find((s) => s.path === path)?.written ?? 0) >= 200_000);
      await session.moveTo(SECOND);
      const record = await download;
      expectPattern(record, SLOW_BYTES);
      expect(record.resumedFrom).toBeUndefined();
      expect(record.refetchedBytes).toBeGreaterThanOrEqual(CHUNK);
      expect(record.refetchedBytes).toBeLessThan(SLOW_BYTES);
    } finally {
      await session.close();
    }
  });

  it('with reconnect, a reset connection is replaced and the download resumes; without, it fails', async () => {
    const recovering = await connect({ reconnect: true });
    try {
      const path = `/slow/${SLOW_BYTES}?reset=200000&p=${protocol}`;
      const record = await recovering.request({ path, keepBody: true });
      expectResumedOnce(record, path, 200_000);
      expect(recovering.connections.at(-1)!.resumed).toBe(true);
    } finally {
      await recovering.close();
    }
    const plain = await connect();
    try {
      const record = await plain.request({ path: `/slow/${SLOW_BYTES}?reset=200000&plain=${protocol}` });
      expect(record.error).toBeDefined();
      expect(record.retries).toBeUndefined();
    } finally {
      await plain.close();
    }
  });
});

describe.each(['h1', 'h2'] as const)('%s: a silent connection', (protocol) => {
  it('with a silence timeout, is given up and the download resumes on a new one; without, it waits for the request timeout', async () => {
    const driver = await getDriver(protocol);
    const watched = await driver.connect(tcpTarget(), { reconnect: true, silenceTimeoutMs: 300 });
    try {
      const path = `/slow/${SLOW_BYTES}?hang=200000&p=${protocol}`;
      const record = await watched.request({ path, keepBody: true });
      expectResumedOnce(record, path, 200_000);
      expect(record.retriedBecause).toMatch(/E_CONNECTION_SILENT/);
      // Given up no sooner than the silence timeout after the last byte of the first attempt.
      expect(record.resent! - record.sent!).toBeGreaterThanOrEqual(300);
    } finally {
      await watched.close();
    }
    const unwatched = await driver.connect(tcpTarget(), { reconnect: true, requestTimeoutMs: 800 });
    try {
      const record = await unwatched.request({ path: `/slow/${SLOW_BYTES}?hang=200000&plain=${protocol}` });
      expect(record.timedOut).toBe(true);
      expect(record.retries).toBeUndefined();
    } finally {
      await unwatched.close();
    }
  });
});

describe('h3: a move migrates the connection', () => {
  it('keeps the connection and its streams; later requests leave from the new address; the server follows', async () => {
    const session = await (await getDriver('h3')).connect({ host: FIRST, port: h3.port, servername: 'localhost', ca: cert.caPem }, { localAddress: FIRST });
    try {
      const size = 20_000_000;
      const download = session.request({ path: `/bytes/${size}`, keepBody: true });
      await new Promise((r) => setTimeout(r, 30));
      const outcome = await session.moveTo(SECOND);
      const record = await download;
      expect(outcome).toBe('migrated');
      expect(record.error).toBeUndefined();
      expectPattern(record, size);
      expect(record.retries).toBeUndefined();
      const after = await session.request({ path: '/bytes/1000' });
      expect(after.localAddress).toBe(SECOND);
      expect(after.connectionId).toBe(record.connectionId);
      expect(session.connections).toHaveLength(1);
      expect(session.connections[0]!.localAddress).toBe(SECOND);
      expect(h3.peers().map((p) => p.host)).toContain(SECOND);
    } finally {
      await session.close();
    }
  });
});
