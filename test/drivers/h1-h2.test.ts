import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { patternByte } from '../../servers/handler.ts';
import { startServers, type RunningServers } from '../../servers/index.ts';
import { getDriver } from '../../src/drivers/index.ts';
import type { ConnectionRecord, Protocol, RequestRecord, Target } from '../../src/drivers/types.ts';
import { generateCertificate, type GeneratedCertificate } from '../../src/tls/cert.ts';

let cert: GeneratedCertificate;
let servers: RunningServers;

beforeAll(async () => {
  cert = await generateCertificate();
  servers = await startServers({ host: '127.0.0.1', protocols: ['h1', 'h2'], cert, maxBodyBytes: 8 << 20 });
});
afterAll(() => servers?.close());

const target = (protocol: Protocol, extra: Partial<Target> = {}): Target => ({
  host: '127.0.0.1',
  port: servers.ports[protocol]!,
  servername: 'localhost',
  ca: cert.caPem,
  ...extra,
});

function expectConnectionTimingsOrdered(c: ConnectionRecord): void {
  expect(c.transportReady).toBeDefined();
  expect(c.tlsReady).toBeDefined();
  expect(c.start).toBeLessThanOrEqual(c.transportReady!);
  expect(c.transportReady!).toBeLessThanOrEqual(c.tlsReady!);
}

function expectRequestTimingsOrdered(r: RequestRecord, connection: ConnectionRecord): void {
  expect(r.error).toBeUndefined();
  expect(connection.tlsReady!).toBeLessThanOrEqual(r.sent!);
  expect(r.queued).toBeLessThanOrEqual(r.sent!);
  expect(r.sent!).toBeLessThanOrEqual(r.headers!);
  expect(r.headers!).toBeLessThanOrEqual(r.firstByte!);
  expect(r.firstByte!).toBeLessThanOrEqual(r.done);
}

describe.each(['h1', 'h2'] as const)('%s driver on loopback', (protocol) => {
  it('records status, exact bytes and ordered timings on a known connection', async () => {
    const driver = await getDriver(protocol);
    const session = await driver.connect(target(protocol));
    try {
      const sizes = [1, 1000, 100_000, 2_000_000];
      const records = await Promise.all(sizes.map((n) => session.request({ path: `/bytes/${n}` })));
      for (const [i, r] of records.entries()) {
        expect(r.status).toBe(200);
        expect(r.bytes).toBe(sizes[i]);
        const connection = session.connections.find((c) => c.id === r.connectionId);
        expect(connection, `request ${r.path} names its connection`).toBeDefined();
        expectRequestTimingsOrdered(r, connection!);
      }
      for (const c of session.connections) {
        expectConnectionTimingsOrdered(c);
        expect(c).toMatchObject({ protocol, resumed: false, earlyData: 'n/a', alpn: protocol === 'h1' ? 'http/1.1' : 'h2' });
        expect(c.remotePort).toBe(servers.ports[protocol]);
        expect(c.localAddress).toBe('127.0.0.1');
      }
    } finally {
      await session.close();
    }
  });

  it('keeps body and headers on request, byte for byte', async () => {
    const session = await (await getDriver(protocol)).connect(target(protocol));
    try {
      const r = await session.request({ path: '/bytes/70000', keepBody: true });
      expect(r.body!.byteLength).toBe(70000);
      expect([0, 250, 251, 69_999].map((i) => r.body![i])).toEqual([0, 250, 251, 69_999].map(patternByte));
      expect(r.responseHeaders!['content-length']).toBe('70000');
      const lean = await session.request({ path: '/bytes/10' });
      expect(lean.body).toBeUndefined();
      expect(lean.responseHeaders).toBeUndefined();
      const missing = await session.request({ path: '/no/such/route' });
      expect(missing.status).toBe(404);
      expect(missing.error).toBeUndefined();
    } finally {
      await session.close();
    }
  });

  it('resumes TLS on a new connection with the previous session()', async () => {
    const driver = await getDriver(protocol);
    const first = await driver.connect(target(protocol));
    await first.request({ path: '/health' });
    const ticket = first.session();
    await first.close();
    expect(ticket).toBeInstanceOf(Uint8Array);
    const second = await driver.connect(target(protocol), { session: ticket });
    try {
      expect(second.connections[0]!.resumed).toBe(true);
      expectConnectionTimingsOrdered(second.connections[0]!);
      expect((await second.request({ path: '/bytes/10' })).status).toBe(200);
    } finally {
      await second.close();
    }
  });

  it('binds the requested local address (path selection)', async () => {
    const session = await (await getDriver(protocol)).connect(target(protocol), { localAddress: '127.0.0.2' });
    try {
      expect(session.connections[0]!.localAddress).toBe('127.0.0.2');
      expect((await session.request({ path: '/health' })).status).toBe(200);
    } finally {
      await session.close();
    }
  });

  it('verifies the certificate: a wrong CA fails, insecure passes', async () => {
    const other = await generateCertificate();
    const driver = await getDriver(protocol);
    await expect(driver.connect(target(protocol, { ca: other.caPem }))).rejects.toThrow(/self.signed|certificate/i);
    const insecure = await driver.connect(target(protocol, { ca: undefined, insecure: true }));
    expect((await insecure.request({ path: '/health' })).status).toBe(200);
    await insecure.close();
  });

  it('reports every connection through onConnection', async () => {
    const seen: ConnectionRecord[] = [];
    const session = await (await getDriver(protocol)).connect(target(protocol), { onConnection: (c) => seen.push(c) });
    await Promise.all(Array.from({ length: 12 }, () => session.request({ path: '/delay/20' })));
    await session.close();
    expect(seen.map((c) => c.id).sort()).toEqual(session.connections.map((c) => c.id).sort());
    for (const c of session.connections) expect(c.closed).toBeGreaterThanOrEqual(c.tlsReady!);
  });
});

describe('protocol-specific connection use', () => {
  it('h1: a pool of at most 6 connections, one request at a time on each, under 50 concurrent requests', async () => {
    const session = await (await getDriver('h1')).connect(target('h1'));
    try {
      const records = await Promise.all(Array.from({ length: 50 }, () => session.request({ path: '/delay/30' })));
      expect(records.every((r) => r.status === 200)).toBe(true);
      expect(session.connections.length).toBe(6);
      expect(new Set(records.map((r) => r.connectionId)).size).toBe(6);
      // No pipelining: on each connection, a request is sent only after the previous one finished.
      for (const c of session.connections) {
        const mine = records.filter((r) => r.connectionId === c.id).sort((a, b) => a.sent! - b.sent!);
        for (let i = 1; i < mine.length; i++) expect(mine[i]!.sent!).toBeGreaterThanOrEqual(mine[i - 1]!.done - 1);
      }
      // Connections after the first resume with the first one's ticket, as browsers do.
      expect(session.connections[0]!.resumed).toBe(false);
    } finally {
      await session.close();
    }
  });

  it('h1: maxConnections bounds the pool', async () => {
    const session = await (await getDriver('h1')).connect(target('h1'), { maxConnections: 2 });
    await Promise.all(Array.from({ length: 10 }, () => session.request({ path: '/delay/10' })));
    expect(session.connections.length).toBe(2);
    await session.close();
  });

  it('h2: exactly one connection for 300 concurrent requests (more than the server stream limit)', async () => {
    const session = await (await getDriver('h2')).connect(target('h2'));
    try {
      const records = await Promise.all(Array.from({ length: 300 }, (_, i) => session.request({ path: `/bytes/${i * 100}` })));
      expect(records.every((r) => r.status === 200 && !r.error)).toBe(true);
      expect(records.map((r) => r.bytes)).toEqual(records.map((_, i) => i * 100));
      expect(session.connections.length).toBe(1);
      expect(new Set(records.map((r) => r.connectionId))).toEqual(new Set([session.connections[0]!.id]));
    } finally {
      await session.close();
    }
  });

  it('a server that does not speak the protocol fails the connect with a clear message', async () => {
    await expect((await getDriver('h1')).connect(target('h1', { port: servers.ports.h2 }))).rejects.toThrow();
    await expect((await getDriver('h2')).connect(target('h2', { port: servers.ports.h1 }))).rejects.toThrow();
  });

  it('getDriver rejects unknown protocols', async () => {
    await expect(getDriver('h9' as Protocol)).rejects.toThrow(/unknown protocol/);
  });
});
