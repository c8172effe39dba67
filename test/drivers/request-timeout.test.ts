/**
 * ConnectOptions.requestTimeoutMs (a scenario's `timeouts.request`) on all three drivers: a request
 * the server never answers fails with a timeout close to the configured time, the server sees the
 * request cancelled (HTTP/1.1: connection closed; HTTP/2: RST_STREAM CANCEL; HTTP/3: stream reset),
 * and other requests of the same session, on the same connection for h2 and h3, still succeed.
 * The servers' side is observed with node's own http2/https server (h1, h2) and the H3 listener's
 * count of client resets, not through the driver under test.
 */
import { createSecureServer, type Http2ServerRequest, type Http2ServerResponse } from 'node:http2';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startH3Listener, type RunningH3Listener } from '../../servers/h3.ts';
import { createHandler, MAX_DELAY_MS } from '../../servers/handler.ts';
import { getDriver } from '../../src/drivers/index.ts';
import type { Protocol, RequestRecord, Target } from '../../src/drivers/types.ts';
import { generateCertificate, type GeneratedCertificate } from '../../src/tls/cert.ts';
import { monoMs } from '../../src/util/clock.ts';

const TIMEOUT_MS = 400;
/** Timers and a loaded 2-core machine: the failure may come this much after the deadline. */
const LATE_MS = 250;

let cert: GeneratedCertificate;
/** Requests the h1/h2 servers saw end without a response: path, when, and the stream's reset code (h2). */
const abandoned: Array<{ path: string; at: number; httpVersion: string; rstCode?: number }> = [];

interface Servers {
  tcp: ReturnType<typeof createSecureServer>;
  h3: RunningH3Listener;
}
/** Servers that take many requests at once, and servers that take one at a time per connection. */
let many: Servers;
let single: Servers;

/**
 * node's own server for h1 and h2, with the routes the drivers need here: `/delay/<ms>` answers
 * after ms (and records it when the client gives up first), `/bytes/<n>` at once.
 */
async function startTcpServer(maxConcurrentStreams: number): Promise<Servers['tcp']> {
  const server = createSecureServer(
    { cert: cert.certPem, key: cert.keyPem, allowHTTP1: true, settings: { maxConcurrentStreams } },
    (req: Http2ServerRequest | IncomingMessage, res: Http2ServerResponse | ServerResponse) => {
      const path = req.url ?? '/';
      const answer = (n: number) => {
        (res as ServerResponse).writeHead(200, { 'content-length': String(n) });
        res.end(Buffer.alloc(n, 7));
      };
      const delay = /^\/delay\/(\d+)$/.exec(path)?.[1];
      if (delay === undefined) return answer(Number(/^\/bytes\/(\d+)$/.exec(path)?.[1] ?? 0));
      const timer = setTimeout(() => answer(10), Number(delay));
      res.on('close', () => {
        clearTimeout(timer);
        if (!res.writableEnded) abandoned.push({ path, at: monoMs(), httpVersion: req.httpVersion, rstCode: (req as Http2ServerRequest).stream?.rstCode });
      });
    },
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

async function startServers(maxConcurrentStreams: number): Promise<Servers> {
  return {
    tcp: await startTcpServer(maxConcurrentStreams),
    h3: await startH3Listener({ host: '127.0.0.1', port: 0, cert: cert.certPem, key: cert.keyPem, handler: createHandler({ maxBodyBytes: 1 << 20 }), maxConcurrentStreams }),
  };
}

async function stopServers(servers: Servers | undefined): Promise<void> {
  await servers?.h3.close();
  await new Promise((resolve) => servers?.tcp.close(resolve));
}

beforeAll(async () => {
  cert = await generateCertificate();
  many = await startServers(100);
  single = await startServers(1);
});

afterAll(async () => {
  await stopServers(many);
  await stopServers(single);
});

function target(servers: Servers, protocol: Protocol): Target {
  const port = protocol === 'h3' ? servers.h3.port : (servers.tcp.address() as AddressInfo).port;
  return { host: '127.0.0.1', port, servername: 'localhost', ca: cert.caPem };
}

/** Not answered while the test runs. */
const STALL = `/delay/${MAX_DELAY_MS}`;

function expectTimedOut(r: RequestRecord): void {
  expect(r.timedOut, JSON.stringify(r)).toBe(true);
  expect(r.error).toBe(`E_REQUEST_TIMEOUT: no complete response within the request timeout (${TIMEOUT_MS} ms)`);
  expect(r.status).toBeUndefined();
  expect(r.done - r.queued).toBeGreaterThanOrEqual(TIMEOUT_MS - 1);
  expect(r.done - r.queued).toBeLessThan(TIMEOUT_MS + LATE_MS);
}

function expectOk(r: RequestRecord, bytes: number): void {
  expect(r.error, r.error).toBeUndefined();
  expect(r.timedOut).toBeUndefined();
  expect(r.status).toBe(200);
  expect(r.bytes).toBe(bytes);
}

async function until(done: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
}

describe.each(['h1', 'h2', 'h3'] as const)('%s: a request with no answer fails at the request timeout', (protocol) => {
  it('times out near the configured time, the server sees it cancelled, the session goes on', async () => {
    const driver = await getDriver(protocol);
    const session = await driver.connect(target(many, protocol), { requestTimeoutMs: TIMEOUT_MS, maxConnections: 2 });
    const abandonedBefore = abandoned.length;
    try {
      const [stalled, alongside] = await Promise.all([session.request({ path: STALL }), session.request({ path: '/bytes/5000' })]);
      expectTimedOut(stalled);
      expectOk(alongside, 5000);

      const after = await session.request({ path: '/bytes/70000' });
      expectOk(after, 70_000);
      if (protocol === 'h1') {
        // HTTP/1.1 cannot cancel one response: the request's connection is gone, the pool dials anew.
        const stalledOn = session.connections.find((c) => c.id === stalled.connectionId);
        expect(stalledOn?.closed, 'connection of the timed-out request closed').toBeDefined();
        expect(stalledOn!.closed! - stalled.queued).toBeLessThan(TIMEOUT_MS + LATE_MS);
        expect(after.connectionId).not.toBe(stalled.connectionId);
      } else {
        // One connection throughout: only the stream was given up.
        expect(session.connections).toHaveLength(1);
        expect(new Set([stalled.connectionId, alongside.connectionId, after.connectionId]).size).toBe(1);
        expect(session.connections[0]!.closed).toBeUndefined();
      }

      // The server's side (h3: see the next test): the request was cancelled at about the timeout.
      if (protocol !== 'h3') {
        await until(() => abandoned.length > abandonedBefore, 2000);
        const seen = abandoned.slice(abandonedBefore);
        expect(seen).toHaveLength(1);
        expect(seen[0]!.httpVersion).toBe(protocol === 'h1' ? '1.1' : '2.0');
        expect(seen[0]!.at - stalled.queued).toBeLessThan(TIMEOUT_MS + LATE_MS);
        // NGHTTP2_CANCEL: the stream was reset, the connection stayed.
        if (protocol === 'h2') expect(seen[0]!.rstCode).toBe(8);
      }
    } finally {
      await session.close();
    }
  });

  it('a request waiting for a connection or stream times out from its hand-off; the server frees the slot', async () => {
    const driver = await getDriver(protocol);
    // One request at a time (one h1 connection, one stream): the second waits behind the first.
    const session = await driver.connect(target(single, protocol), { requestTimeoutMs: TIMEOUT_MS, maxConnections: 1 });
    try {
      // One exchange first, so the driver knows the server's stream limit (h2 SETTINGS).
      expectOk(await session.request({ path: '/bytes/1' }), 1);
      const [first, second] = await Promise.all([session.request({ path: STALL }), session.request({ path: STALL })]);
      // Both fail a timeout after their own hand-off, not after the second got its turn.
      expectTimedOut(first);
      expectTimedOut(second);
      expect(first.sent).toBeDefined();
      // It waited: it left, if at all, only when the first gave up its connection or stream.
      if (second.sent !== undefined) expect(second.sent).toBeGreaterThanOrEqual(first.done);
      // The server freed the only stream the first one held (h2 and h3 on the same connection): it
      // took the cancellation, or it would refuse, or withhold, a new stream.
      const next = await session.request({ path: '/bytes/10' });
      expectOk(next, 10);
      if (protocol !== 'h1') expect(next.connectionId).toBe(first.connectionId);
    } finally {
      await session.close();
    }
  });

  it('without a timeout nothing is armed: a slow answer still arrives', async () => {
    const driver = await getDriver(protocol);
    const session = await driver.connect(target(many, protocol));
    try {
      expectOk(await session.request({ path: `/delay/${TIMEOUT_MS + 100}` }), protocol === 'h3' ? 'delayed 500 ms\n'.length : 10);
    } finally {
      await session.close();
    }
  });
});
