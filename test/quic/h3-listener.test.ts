/**
 * The HTTP/3 listener with the shared handler, driven by our h3 driver, and misbehaving clients
 * that must cost only themselves.
 */
import dgram from 'node:dgram';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startH3Listener, type RunningH3Listener } from '../../servers/h3.ts';
import { createHandler, patternByte } from '../../servers/handler.ts';
import { h3Driver } from '../../src/drivers/h3.ts';
import type { Target } from '../../src/drivers/types.ts';
import { H3Connection, type H3Event } from '../../src/h3/connection.ts';
import { H3_REQUEST_CANCELLED } from '../../src/h3/errors.ts';
import { QuicClient } from '../../src/quic/index.ts';
import { generateCertificate, type GeneratedCertificate } from '../../src/tls/cert.ts';

let cert: GeneratedCertificate;
let listener: RunningH3Listener;
let target: Target;

beforeAll(async () => {
  cert = await generateCertificate();
  listener = await startH3Listener({ host: '127.0.0.1', port: 0, cert: cert.certPem, key: cert.keyPem, handler: createHandler() });
  target = { host: '127.0.0.1', port: listener.port, servername: 'localhost', ca: cert.caPem };
});
afterAll(async () => {
  await listener?.close();
});

async function healthy(): Promise<void> {
  const s = await h3Driver.connect(target);
  const r = await s.request({ path: '/health', keepBody: true });
  expect(r.status).toBe(200);
  await s.close();
}

async function until(cond: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

function rawH3Client(): Promise<QuicClient> {
  return QuicClient.connect({ host: '127.0.0.1', port: listener.port, servername: 'localhost', alpn: ['h3'], caPem: cert.certPem });
}

describe('h3 driver + listener', () => {
  it('serves the shared routes with the driver timings', async () => {
    const s = await h3Driver.connect(target);
    const r = await s.request({ path: '/bytes/100000', keepBody: true });
    expect(r.status).toBe(200);
    expect(r.bytes).toBe(100000);
    expect(r.body![99999]).toBe(patternByte(99999));
    expect(r.responseHeaders?.['content-length']).toBe('100000');
    const c = s.connections[0]!;
    expect(c.alpn).toBe('h3');
    expect(c.earlyData).toBe(false);
    expect(c.tlsReady).toBe(c.transportReady);
    const d = await s.request({ path: '/delay/50' });
    expect(d.headers! - d.sent!).toBeGreaterThanOrEqual(45);
    const missing = await s.request({ path: '/no/such/route' });
    expect(missing.status).toBe(404);
    await s.close();
  });

  it('resumes with 0-RTT: the first request leaves before the handshake completes', async () => {
    const first = await h3Driver.connect(target);
    await first.request({ path: '/health' });
    const session = first.session();
    await first.close();
    const second = await h3Driver.connect(target, { session, earlyData: true });
    const r = await second.request({ path: '/health' });
    const c = second.connections[0]!;
    expect(r.status).toBe(200);
    expect(c.resumed).toBe(true);
    expect(c.earlyData).toBe(true);
    expect(r.earlyData).toBe(true);
    expect(r.sent!).toBeLessThan(c.transportReady!);
    await second.close();
  });

  it('moves to a new local socket (migration) and keeps serving', async () => {
    const s = await h3Driver.connect(target);
    await s.request({ path: '/health' });
    const before = s.connections[0]!.localPort;
    await s.moveTo('127.0.0.1', { probe: true });
    expect(s.connections[0]!.localPort).not.toBe(before);
    expect((await s.request({ path: '/bytes/5000' })).bytes).toBe(5000);
    const stats = await s.stats!();
    expect(stats?.rttMs).toBeGreaterThanOrEqual(0);
    await s.close();
  });
});

describe('responses on streams with small windows', () => {
  it('a client whose stream window is smaller than a packet still gets every response', async () => {
    // The server sends a response's HEADERS only when some of its body fits too; a stream window
    // of 600 bytes never leaves that much room, and must not leave the response unsent.
    const c = await QuicClient.connect({ host: '127.0.0.1', port: listener.port, servername: 'localhost', alpn: ['h3'], caPem: cert.certPem, initialMaxStreamData: 600 });
    await c.established();
    const h3 = new H3Connection(c.connection, { isServer: false });
    let received = 0;
    const finished = new Set<number>();
    c.connection.on('activity', () => {
      h3.process();
      for (let ev = h3.poll(); ev; ev = h3.poll()) {
        if (ev.type === 'data') for (let n = h3.recvBody(ev.streamId, new Uint8Array(4096)); n > 0; n = h3.recvBody(ev.streamId, new Uint8Array(4096))) received += n;
        if (ev.type === 'finished') finished.add(ev.streamId);
      }
    });
    const ids = [0, 1, 2].map(() =>
      h3.sendRequest([[':method', 'GET'], [':scheme', 'https'], [':authority', 'localhost'], [':path', '/bytes/5000']], true),
    );
    c.connection.scheduleFlush();
    await until(() => ids.every((id) => finished.has(id)), 5000);
    expect(received).toBe(15_000);
    await c.close();
  });
});

describe('misbehaving clients never take the listener down', () => {
  it('garbage datagrams are dropped', async () => {
    const before = listener.counters.undecodable + listener.counters.unknownConnection;
    const sock = dgram.createSocket('udp4');
    for (const junk of [Buffer.from('GET / HTTP/1.1\r\n\r\n'), Buffer.alloc(1400, 0xc3), Buffer.alloc(3, 1)]) {
      await new Promise<void>((r) => sock.send(junk, listener.port, '127.0.0.1', () => r()));
    }
    sock.close();
    await healthy();
    expect(listener.counters.undecodable + listener.counters.unknownConnection).toBeGreaterThan(before);
  });

  it('garbage on a request stream closes that connection with an HTTP/3 error code', async () => {
    const c = await rawH3Client();
    await c.established();
    const closed = new Promise<{ code?: number; app?: boolean }>((resolve) =>
      c.connection.once('closed', (i) => resolve({ code: i.peer?.errorCode, app: i.peer?.isApp })),
    );
    // A reserved-looking but invalid sequence: DATA frame before HEADERS (H3_FRAME_UNEXPECTED).
    c.connection.streamSend(0, Buffer.from([0x00, 0x03, 0x61, 0x62, 0x63]), true);
    const info = await closed;
    expect(info.app).toBe(true);
    expect(info.code).toBeGreaterThanOrEqual(0x100);
    expect(info.code).toBeLessThanOrEqual(0x110);
    await healthy();
  });

  it('a request stream reset mid-body is dropped and the connection keeps serving', async () => {
    const c = await rawH3Client();
    await c.established();
    const h3 = new H3Connection(c.connection, { isServer: false });
    const events: H3Event[] = [];
    c.connection.on('activity', () => {
      h3.process();
      for (let ev = h3.poll(); ev; ev = h3.poll()) {
        events.push(ev);
        if (ev.type === 'data') while (h3.recvBody(ev.streamId, new Uint8Array(4096)) > 0);
      }
    });
    const resetsBefore = listener.stats.streamResets;
    const receivedBefore = listener.stats.received;
    const id = h3.sendRequest(
      [[':method', 'POST'], [':scheme', 'https'], [':authority', 'localhost'], [':path', '/delay/300'], ['content-length', '1000000']],
      false,
    );
    h3.sendBody(id, new Uint8Array(10_000), false);
    await until(() => listener.stats.received > receivedBefore, 2000);
    h3.resetStream(id, H3_REQUEST_CANCELLED);
    c.connection.scheduleFlush();
    await until(() => listener.stats.streamResets > resetsBefore, 2000);
    // The same connection still serves.
    const next = h3.sendRequest([[':method', 'GET'], [':scheme', 'https'], [':authority', 'localhost'], [':path', '/health']], true);
    await until(() => events.some((e) => e.type === 'finished' && e.streamId === next), 2000);
    expect(events.find((e) => e.type === 'headers' && e.streamId === next)).toMatchObject({ headers: expect.arrayContaining([[':status', '200']]) });
    await c.close();
  });

  it('oversized header sections are refused without harm', async () => {
    const s = await h3Driver.connect(target);
    const r = await s.request({ path: '/health', headers: { 'x-big': 'a'.repeat(200_000) } });
    expect(r.status === 431 || r.error !== undefined).toBe(true);
    await s.close().catch(() => {});
    await healthy();
  });

  it('a flood of streams is bounded by MAX_STREAMS and served', async () => {
    const s = await h3Driver.connect(target);
    const records = await Promise.all(Array.from({ length: 1000 }, () => s.request({ path: '/bytes/10' })));
    expect(records.filter((r) => r.status === 200)).toHaveLength(1000);
    await s.close();
    await healthy();
  });

  it('GOAWAY on close: the driver sees the connection end cleanly', async () => {
    const cert2 = cert;
    const l2 = await startH3Listener({ host: '127.0.0.1', port: 0, cert: cert2.certPem, key: cert2.keyPem, handler: createHandler() });
    const s = await h3Driver.connect({ ...target, port: l2.port });
    await s.request({ path: '/health' });
    await l2.close();
    await until(() => s.connections[0]!.closed !== undefined, 3000);
    // A clean shutdown: GOAWAY, then CONNECTION_CLOSE with H3_NO_ERROR (no error recorded).
    expect(s.connections[0]!.error).toBeUndefined();
    const after = await s.request({ path: '/health' });
    expect(after.error).toBeDefined();
    await s.close();
  });
});
