import { randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PacketType, parseHeader, pacingSupported } from '../../src/quic/binding.ts';
import { QuicClient, type QuicCloseInfo, type QuicConnection, type QuicPathEvent, type QuicServer } from '../../src/quic/index.ts';
import { keylogWritesDone } from '../../src/util/keylog.ts';
import { connectRaw, pattern, rawRequest, sha256, startRawServer } from './helpers.ts';

function nextConnection(server: QuicServer): Promise<QuicConnection> {
  return new Promise((resolve) => server.once('connection', resolve));
}

function closedInfo(c: QuicConnection): Promise<QuicCloseInfo> {
  return new Promise((resolve) => c.once('closed', resolve));
}

describe('QUIC endpoint over quiche (raw streams)', () => {
  let server: QuicServer;
  beforeAll(async () => {
    server = await startRawServer();
  });
  afterAll(async () => {
    await server.close();
  });

  it('completes a handshake, negotiates the ALPN and records when it was established', async () => {
    const client = await connectRaw(server);
    await client.established();
    const t = client.connection.timings;
    expect(client.connection.alpn).toBe('bench-test');
    expect(t.established).toBeGreaterThan(t.start);
    expect(client.connection.isResumed).toBe(false);
    expect((await rawRequest(client, 0, Buffer.from('echo ping'))).toString()).toBe('echo ping');
    const stats = client.connection.stats();
    expect(stats.recvPackets).toBeGreaterThan(0);
    expect(stats.sentBytes).toBeGreaterThan(1200);
    expect(stats.rttMs).toBeGreaterThanOrEqual(0);
    expect(stats.cwndBytes).toBeGreaterThan(0);
    await client.close();
  });

  it('downloads 10 MB on one stream intact (SHA-256)', async () => {
    const client = await connectRaw(server);
    await client.established();
    const body = await rawRequest(client, 0, Buffer.from('bulk 10000000'));
    expect(body.length).toBe(10_000_000);
    expect(sha256(body)).toBe(sha256(pattern(10_000_000)));
    const s = client.connection.stats();
    expect(s.recvBytes).toBeGreaterThan(10_000_000);
    await client.close();
  });

  it('carries 100 concurrent streams on one connection', async () => {
    const client = await connectRaw(server);
    await client.established();
    const bodies = await Promise.all(
      Array.from({ length: 100 }, (_, i) => rawRequest(client, i * 4, Buffer.from(`bulk ${1000 + i}`))),
    );
    bodies.forEach((b, i) => expect(b.length).toBe(1000 + i));
    await client.close();
  });

  it('closes gracefully with an application error code the peer sees', async () => {
    const accepted = nextConnection(server);
    const client = await connectRaw(server);
    await client.established();
    const serverSide = await accepted;
    const serverClosed = closedInfo(serverSide);
    await client.close(0x100, 'bye');
    const info = await serverClosed;
    expect(info.peer?.isApp).toBe(true);
    expect(info.peer?.errorCode).toBe(0x100);
    expect(client.connection.isClosed).toBe(true);
  });

  it('ignores garbage datagrams and keeps serving', async () => {
    const before = server.counters.undecodable + server.counters.unknownConnection;
    const sock = dgram.createSocket('udp4');
    const junk = [Buffer.from('hello'), Buffer.alloc(1300, 0xff), Buffer.alloc(40, 0x40), Buffer.alloc(0)];
    for (const j of junk) await new Promise<void>((r) => sock.send(j, server.address.port, '127.0.0.1', () => r()));
    sock.close();
    const client = await connectRaw(server);
    await client.established();
    expect((await rawRequest(client, 0, Buffer.from('echo still here'))).toString()).toBe('echo still here');
    expect(server.counters.undecodable + server.counters.unknownConnection).toBeGreaterThan(before);
    await client.close();
  });

  it('answers an unknown QUIC version with Version Negotiation', async () => {
    // Long header, Initial type bits, version 0x1a2a3a4a (reserved for negotiation tests), DCID 8, SCID 8.
    const pkt = Buffer.alloc(1200);
    pkt[0] = 0xc0;
    pkt.writeUInt32BE(0x1a2a3a4a, 1);
    pkt[5] = 8;
    Buffer.from('0102030405060708', 'hex').copy(pkt, 6);
    pkt[14] = 8;
    Buffer.from('1112131415161718', 'hex').copy(pkt, 15);
    const sock = dgram.createSocket('udp4');
    const reply = new Promise<Buffer>((resolve) => sock.once('message', resolve));
    sock.send(pkt, server.address.port, '127.0.0.1');
    const vn = await reply;
    sock.close();
    const h = parseHeader(vn, 8);
    expect(h?.type).toBe(PacketType.VersionNegotiation);
    // The VN packet echoes our SCID as its DCID.
    expect(Buffer.from(h!.dcid).toString('hex')).toBe('1112131415161718');
  });

  it('resumes with a session ticket and sends the first request as 0-RTT', async () => {
    const first = await connectRaw(server);
    await first.established();
    await rawRequest(first, 0, Buffer.from('echo one'));
    // The ticket arrives after the handshake (NewSessionTicket): wait until session() has it.
    const session = first.connection.session();
    expect(session?.length).toBeGreaterThan(0);
    await first.close();

    const second = await connectRaw(server, { session });
    expect(second.connection.isInEarlyData).toBe(true);
    const reply = rawRequest(second, 0, Buffer.from('echo early'));
    await second.established();
    expect((await reply).toString()).toBe('echo early');
    expect(second.connection.isResumed).toBe(true);
    expect(second.connection.timings.earlyDataAccepted).toBe(true);
    await second.close();
  });

  it('migrates to a new local socket and keeps the connection', async () => {
    const accepted = nextConnection(server);
    const client = await connectRaw(server);
    await client.established();
    const serverSide = await accepted;
    const serverEvents: QuicPathEvent[] = [];
    serverSide.on('path', (e) => serverEvents.push(e));
    // Let the NEW_CONNECTION_ID frames arrive first.
    await rawRequest(client, 0, Buffer.from('echo warm-up'));
    const oldPort = client.connection.local.port;
    const local = await client.migrate('127.0.0.1');
    expect(local.port).not.toBe(oldPort);
    expect(client.connection.local.port).toBe(local.port);
    expect((await rawRequest(client, 4, Buffer.from('echo moved'))).toString()).toBe('echo moved');
    expect(serverSide.peer.port).toBe(local.port);
    expect(serverEvents.some((e) => e.type === 'PeerMigrated')).toBe(true);
    await client.close();
  });

  it('runs each congestion controller (cubic, reno, bbr)', async () => {
    for (const cc of ['cubic', 'reno', 'bbr'] as const) {
      const client = await connectRaw(server, { congestionControl: cc });
      await client.established();
      // Upload with the chosen controller (the client is the sender here).
      const up = pattern(300_000);
      const echoed = await rawRequest(client, 0, Buffer.concat([Buffer.from('echo '), up]));
      expect(echoed.length).toBe(up.length + 5);
      expect(client.connection.stats().cwndBytes).toBeGreaterThan(0);
      await client.close();
    }
  });

  it('reads quiche pacing release times on the monotonic clock', () => {
    expect(pacingSupported()).toBe(true);
  });
});

describe('QUIC endpoint options', () => {
  it('reports 0-RTT rejected when the server cannot resume; the request still completes in 1-RTT', async () => {
    const a = await startRawServer();
    const first = await connectRaw(a);
    await first.established();
    await rawRequest(first, 0, Buffer.from('echo one'));
    const session = first.connection.session();
    await first.close();
    await a.close();
    // Another listener: another ticket key, so the ticket is useless and 0-RTT is rejected.
    const b = await startRawServer();
    const second = await connectRaw(b, { session });
    expect(second.connection.isInEarlyData).toBe(true);
    const reply = rawRequest(second, 0, Buffer.from('echo retried'));
    await second.established();
    expect((await reply).toString()).toBe('echo retried');
    expect(second.connection.isResumed).toBe(false);
    expect(second.connection.timings.earlyDataAccepted).toBe(false);
    await second.close();
    await b.close();
  });

  it('completes a 0-RTT request a resuming server refuses as early data (quiche resends it)', async () => {
    const ticketKey = randomBytes(48);
    const a = await startRawServer({ ticketKey });
    const first = await connectRaw(a);
    await first.established();
    await rawRequest(first, 0, Buffer.from('echo one'));
    const session = first.connection.session();
    await first.close();
    await a.close();
    const b = await startRawServer({ ticketKey, earlyData: false });
    const second = await connectRaw(b, { session });
    expect(second.connection.isInEarlyData).toBe(true);
    const reply = rawRequest(second, 0, Buffer.from('echo retried'));
    await second.established();
    expect((await reply).toString()).toBe('echo retried');
    expect(second.connection.isResumed).toBe(true);
    await second.close();
    await b.close();
  });

  it('does a stateless retry before accepting when configured', async () => {
    const server = await startRawServer({ retry: true });
    const client = await connectRaw(server);
    await client.established();
    expect(server.counters.retries).toBe(1);
    expect((await rawRequest(client, 0, Buffer.from('echo after retry'))).toString()).toBe('echo after retry');
    await client.close();
    await server.close();
  });

  it('closes an idle connection after the idle timeout on both sides', async () => {
    const server = await startRawServer({ idleTimeoutMs: 300 });
    const accepted = nextConnection(server);
    const client = await connectRaw(server, { idleTimeoutMs: 300 });
    await client.established();
    const serverSide = await accepted;
    const [c, s] = await Promise.all([closedInfo(client.connection), closedInfo(serverSide)]);
    expect(c.timedOut).toBe(true);
    expect(s.timedOut).toBe(true);
    expect(server.connections.size).toBe(0);
    await server.close();
  });

  it('writes TLS secrets to SSLKEYLOGFILE', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'keylog-'));
    const file = join(dir, 'keys.log');
    const saved = process.env.SSLKEYLOGFILE;
    process.env.SSLKEYLOGFILE = file;
    try {
      const server = await startRawServer();
      // Several connections, one after another and side by side: each one's secrets must survive.
      for (const batch of [1, 1, 3]) {
        const clients = await Promise.all(Array.from({ length: batch }, () => connectRaw(server)));
        await Promise.all(clients.map((c) => c.established()));
        await Promise.all(clients.map((c) => c.close()));
      }
      await server.close();
      await keylogWritesDone();
    } finally {
      if (saved === undefined) delete process.env.SSLKEYLOGFILE;
      else process.env.SSLKEYLOGFILE = saved;
    }
    const log = readFileSync(file, 'utf8');
    expect(log).toMatch(/^CLIENT_HANDSHAKE_TRAFFIC_SECRET [0-9a-f]{64} [0-9a-f]+$/m);
    expect(log).toMatch(/^SERVER_TRAFFIC_SECRET_0 /m);
    // Every line whole; five connections, each logged by client and server (four secrets per side).
    const lines = log.trimEnd().split('\n');
    for (const line of lines) expect(line).toMatch(/^[A-Z_0-9]+ [0-9a-f]{64} [0-9a-f]{64,96}$/);
    const randoms = new Set(lines.map((l) => l.split(' ')[1]));
    expect(randoms.size).toBe(5);
    for (const r of randoms) expect(lines.filter((l) => l.includes(` ${r} `) && l.startsWith('SERVER_TRAFFIC_SECRET_0'))).toHaveLength(2);
    // The per-connection files were folded in and removed.
    expect(readdirSync(dir)).toEqual(['keys.log']);
  });

  it('refuses a server whose certificate the given CA did not sign', async () => {
    const server = await startRawServer();
    const { generateCertificate } = await import('../../src/tls/cert.ts');
    const other = await generateCertificate();
    const client = await QuicClient.connect({
      host: '127.0.0.1',
      port: server.address.port,
      servername: 'localhost',
      alpn: ['bench-test'],
      caPem: other.certPem,
    });
    await expect(client.established()).rejects.toThrow(/not signed by the given CA/);
    await server.close();
  });
});
