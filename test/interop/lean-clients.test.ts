/**
 * The load workload's lean clients (src/drivers/h2-lean.ts with src/h2/, src/drivers/h1-lean.ts
 * with src/h1/) against three servers on loopback: bench's own (node:http2, node:https), nginx
 * (its own HTTP/1.1 and HPACK and flow control in C; after `keepalive_requests` a GOAWAY or a
 * Connection: close) and Caddy (Go's net/http and x/net/http2). Bodies are checked byte for byte,
 * HTTP/2 windows must be reopened for a download larger than them, and a server ending a connection
 * moves the requests to a new one. nginx and caddy are Debian packages: under CI=true a missing one
 * fails, elsewhere it is skipped.
 */
import { execa, type ResultPromise } from 'execa';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServers, type RunningServers } from '../../servers/index.ts';
import { patternByte } from '../../servers/handler.ts';
import { leanH1Driver } from '../../src/drivers/h1-lean.ts';
import { leanH2Driver, leanWindows } from '../../src/drivers/h2-lean.ts';
import type { ClientSession, RequestRecord, Target } from '../../src/drivers/types.ts';
import { freeTcpUdpPort } from '../../src/runner/command-server.ts';
import { generateCertificate, type GeneratedCertificate } from '../../src/tls/cert.ts';
import { peerMissing, which } from '../support/peers.ts';
import { startCaddy, type RunningCaddy } from './caddy.ts';

const pattern = (n: number) => Buffer.from(Array.from({ length: n }, (_, i) => patternByte(i)));
const BIG = 20 * 1024 * 1024; // above the 15 MiB connection window and the 6 MiB stream window

async function concurrently(session: ClientSession, total: number, concurrency: number, path: string): Promise<RequestRecord[]> {
  const records: RequestRecord[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next++ < total) records.push(await session.request({ path }));
    }),
  );
  return records;
}

let cert: GeneratedCertificate;
beforeAll(async () => {
  cert = await generateCertificate();
});

describe("lean h2 client against bench's own server", () => {
  let servers: RunningServers;
  let target: Target;
  beforeAll(async () => {
    servers = await startServers({ host: '127.0.0.1', protocols: ['h2'], cert });
    target = { host: '127.0.0.1', port: servers.ports.h2!, servername: 'localhost', ca: cert.caPem };
  });
  afterAll(async () => {
    await servers?.close();
  });

  it('fetches bodies intact, small and larger than both receive windows', async () => {
    const s = await leanH2Driver.connect(target);
    const small = await s.request({ path: '/bytes/1024', keepBody: true });
    expect(small).toMatchObject({ status: 200, bytes: 1024 });
    expect(small.error).toBeUndefined();
    expect(Buffer.from(small.body!).equals(pattern(1024))).toBe(true);
    const big = await s.request({ path: `/bytes/${BIG}`, keepBody: true });
    expect(big.error).toBeUndefined();
    expect(big.bytes).toBe(BIG);
    expect(Buffer.from(big.body!).equals(pattern(BIG))).toBe(true);
    const w = leanWindows(s)!;
    expect(w.receive).toEqual({ streamBytes: 6 * 1024 * 1024, connectionBytes: 15 * 1024 * 1024 });
    // 20 MiB through a 15 MiB connection window and a 6 MiB stream window: both were reopened.
    expect(w.windowUpdates.connection).toBeGreaterThanOrEqual(3);
    expect(w.windowUpdates.stream).toBeGreaterThanOrEqual(6);
    expect(s.connections).toHaveLength(1);
    expect(small.sent).toBeGreaterThanOrEqual(small.queued);
    expect(small.headers).toBeGreaterThanOrEqual(small.sent!);
    expect(small.firstByte).toBeGreaterThanOrEqual(small.headers!);
    expect(small.done).toBeGreaterThanOrEqual(small.firstByte!);
    await s.close();
  });

  it('carries 2000 requests 100 at a time on one connection; a 404 is a status, not an error', async () => {
    const s = await leanH2Driver.connect(target);
    const records = await concurrently(s, 2000, 100, '/bytes/1024');
    expect(records.filter((r) => r.error !== undefined || r.status !== 200 || r.bytes !== 1024).map((r) => r.error ?? r.status)).toEqual([]);
    expect(s.connections).toHaveLength(1);
    const missing = await s.request({ path: '/no-such-route' });
    expect(missing.status).toBe(404);
    expect(missing.error).toBeUndefined();
    await s.close();
  });

  it('a request timeout resets the stream; the connection carries on', async () => {
    const s = await leanH2Driver.connect(target, { requestTimeoutMs: 200 });
    const slow = await s.request({ path: '/delay/2000' });
    expect(slow.timedOut).toBe(true);
    expect(slow.error).toMatch(/E_REQUEST_TIMEOUT/);
    const after = await s.request({ path: '/bytes/100' });
    expect(after).toMatchObject({ status: 200, bytes: 100 });
    expect(after.error).toBeUndefined();
    expect(s.connections).toHaveLength(1);
    await s.close();
  });

  it('refuses what it does not do: request bodies, reconnecting', async () => {
    const s = await leanH2Driver.connect(target);
    expect((await s.request({ path: '/echo', method: 'POST', body: new Uint8Array(1) })).error).toMatch(/GET requests without a body only/);
    await s.close();
    await expect(leanH2Driver.connect(target, { reconnect: true })).rejects.toThrow(/client: library/);
  });
});

describe("lean h1 client against bench's own server", () => {
  let servers: RunningServers;
  let target: Target;
  beforeAll(async () => {
    servers = await startServers({ host: '127.0.0.1', protocols: ['h1'], cert });
    target = { host: '127.0.0.1', port: servers.ports.h1!, servername: 'localhost', ca: cert.caPem };
  });
  afterAll(async () => {
    await servers?.close();
  });

  it('fetches bodies intact, small and large, over a keep-alive connection', async () => {
    const s = await leanH1Driver.connect(target, { maxConnections: 1 });
    const small = await s.request({ path: '/bytes/1024', keepBody: true });
    expect(small).toMatchObject({ status: 200, bytes: 1024 });
    expect(small.error).toBeUndefined();
    expect(Buffer.from(small.body!).equals(pattern(1024))).toBe(true);
    const big = await s.request({ path: `/bytes/${BIG}`, keepBody: true });
    expect(big.error).toBeUndefined();
    expect(Buffer.from(big.body!).equals(pattern(BIG))).toBe(true);
    expect(s.connections).toHaveLength(1);
    expect(small.headers).toBeGreaterThanOrEqual(small.sent!);
    expect(small.done).toBeGreaterThanOrEqual(small.firstByte!);
    await s.close();
  });

  it('carries 2000 requests 100 at a time over a pool of 10 connections; a 404 is a status', async () => {
    const s = await leanH1Driver.connect(target, { maxConnections: 10 });
    const records = await concurrently(s, 2000, 100, '/bytes/1024');
    expect(records.filter((r) => r.error !== undefined || r.status !== 200 || r.bytes !== 1024).map((r) => r.error ?? r.status)).toEqual([]);
    expect(s.connections).toHaveLength(10);
    expect((await s.request({ path: '/no-such-route' })).status).toBe(404);
    await s.close();
  });

  it('a request timeout closes its connection; the pool dials another', async () => {
    const s = await leanH1Driver.connect(target, { maxConnections: 1, requestTimeoutMs: 200 });
    const slow = await s.request({ path: '/delay/2000' });
    expect(slow.timedOut).toBe(true);
    const after = await s.request({ path: '/bytes/100' });
    expect(after).toMatchObject({ status: 200, bytes: 100 });
    expect(after.error).toBeUndefined();
    expect(s.connections).toHaveLength(2);
    await s.close();
  });

  it('refuses what it does not do: request bodies, reconnecting', async () => {
    const s = await leanH1Driver.connect(target);
    expect((await s.request({ path: '/echo', method: 'POST', body: new Uint8Array(1) })).error).toMatch(/GET requests without a body only/);
    await s.close();
    await expect(leanH1Driver.connect(target, { reconnect: true })).rejects.toThrow(/client: library/);
  });
});

const noNginx = peerMissing(!!which('nginx'), 'nginx (apt-get install nginx-light)');

describe.skipIf(noNginx)('lean clients against nginx', () => {
  let dir: string;
  let proc: ResultPromise;
  let target: Target;
  const KEEPALIVE_REQUESTS = 50;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'bench-nginx-lean-'));
    // nginx's worker runs as nobody when started by root: it must be able to read the site.
    chmodSync(dir, 0o755);
    mkdirSync(join(dir, 'site', 'bytes'), { recursive: true });
    writeFileSync(join(dir, 'site', 'bytes', '1024'), pattern(1024));
    writeFileSync(join(dir, 'site', 'bytes', String(BIG)), pattern(BIG));
    writeFileSync(join(dir, 'cert.pem'), cert.certPem);
    writeFileSync(join(dir, 'key.pem'), cert.keyPem, { mode: 0o600 });
    const port = await freeTcpUdpPort('127.0.0.1');
    writeFileSync(
      join(dir, 'nginx.conf'),
      [
        'daemon off;',
        'worker_processes 1;',
        `pid ${dir}/nginx.pid;`,
        'error_log stderr notice;',
        'events { worker_connections 1024; }',
        'http {',
        '  access_log off;',
        ...['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((t) => `  ${t}_temp_path ${dir}/${t};`),
        // A GOAWAY after this many requests on a connection: the client must move on to a new one.
        `  keepalive_requests ${KEEPALIVE_REQUESTS};`,
        '  http2_max_concurrent_streams 16;',
        `  server { listen 127.0.0.1:${port} ssl http2; ssl_certificate ${dir}/cert.pem; ssl_certificate_key ${dir}/key.pem; ssl_protocols TLSv1.3; root ${dir}/site; }`,
        '}',
        '',
      ].join('\n'),
    );
    proc = execa('nginx', ['-p', dir, '-c', join(dir, 'nginx.conf')], { reject: false, stdin: 'ignore' });
    target = { host: '127.0.0.1', port, servername: 'localhost', ca: cert.caPem };
    const deadline = Date.now() + 10_000;
    for (;;) {
      try {
        await (await leanH2Driver.connect(target)).close();
        break;
      } catch (error) {
        if (Date.now() > deadline || proc.exitCode !== null) throw new Error(`nginx did not start: ${String(error)}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  });
  afterAll(async () => {
    proc?.kill('SIGTERM');
    await proc;
    rmSync(dir, { recursive: true, force: true });
  });

  it('h2: fetches bodies intact through its windows', async () => {
    const s = await leanH2Driver.connect(target);
    const small = await s.request({ path: '/bytes/1024', keepBody: true });
    expect(small).toMatchObject({ status: 200, bytes: 1024 });
    expect(small.error).toBeUndefined();
    expect(Buffer.from(small.body!).equals(pattern(1024))).toBe(true);
    const big = await s.request({ path: `/bytes/${BIG}`, keepBody: true });
    expect(big).toMatchObject({ status: 200, bytes: BIG });
    expect(big.error).toBeUndefined();
    expect(Buffer.from(big.body!).equals(pattern(BIG))).toBe(true);
    await s.close();
  });

  it('h1: fetches bodies intact', async () => {
    const s = await leanH1Driver.connect(target);
    const big = await s.request({ path: `/bytes/${BIG}`, keepBody: true });
    expect(big).toMatchObject({ status: 200, bytes: BIG });
    expect(Buffer.from(big.body!).equals(pattern(BIG))).toBe(true);
    await s.close();
  });

  it(`h1: after ${KEEPALIVE_REQUESTS} requests nginx closes a connection (Connection: close): the pool dials anew, none lost`, async () => {
    const s = await leanH1Driver.connect(target, { maxConnections: 6 });
    const records = await concurrently(s, 500, 20, '/bytes/1024');
    expect(records.filter((r) => r.error !== undefined || r.status !== 200 || r.bytes !== 1024).map((r) => r.error ?? r.status)).toEqual([]);
    expect(s.connections.length).toBeGreaterThanOrEqual(500 / KEEPALIVE_REQUESTS);
    await s.close();
  });

  it(`h2: after ${KEEPALIVE_REQUESTS} requests nginx sends GOAWAY: the requests go on over new connections, none lost`, async () => {
    const s = await leanH2Driver.connect(target);
    const records = await concurrently(s, 500, 40, '/bytes/1024');
    expect(records).toHaveLength(500);
    expect(records.filter((r) => r.error !== undefined || r.status !== 200 || r.bytes !== 1024).map((r) => r.error ?? r.status)).toEqual([]);
    expect(s.connections.length).toBeGreaterThanOrEqual(500 / KEEPALIVE_REQUESTS);
    await s.close();
  });
});

const noCaddy = peerMissing(!!which('caddy'), 'caddy (apt-get install caddy)');

describe.skipIf(noCaddy)('lean clients against Caddy', () => {
  let caddy: RunningCaddy;
  let target: Target;
  beforeAll(async () => {
    caddy = await startCaddy({ certPem: cert.certPem, keyPem: cert.keyPem, files: { 'bytes/1024': pattern(1024), [`bytes/${BIG}`]: pattern(BIG) } });
    target = { host: '127.0.0.1', port: caddy.port, servername: 'localhost', ca: cert.caPem };
  });
  afterAll(async () => {
    await caddy?.stop();
  });

  it('h2: fetches bodies intact and carries 1000 requests 100 at a time on one connection', async () => {
    const s = await leanH2Driver.connect(target);
    const big = await s.request({ path: `/bytes/${BIG}`, keepBody: true });
    expect(big).toMatchObject({ status: 200, bytes: BIG });
    expect(big.error).toBeUndefined();
    expect(Buffer.from(big.body!).equals(pattern(BIG))).toBe(true);
    const records = await concurrently(s, 1000, 100, '/bytes/1024');
    expect(records.filter((r) => r.error !== undefined || r.status !== 200 || r.bytes !== 1024).map((r) => r.error ?? r.status)).toEqual([]);
    expect(s.connections).toHaveLength(1);
    expect(leanWindows(s)!.send.streamBytes).toBeGreaterThan(0);
    await s.close();
  });

  it('h1: fetches bodies intact and carries 1000 requests 100 at a time over 10 connections', async () => {
    const s = await leanH1Driver.connect(target, { maxConnections: 10 });
    const big = await s.request({ path: `/bytes/${BIG}`, keepBody: true });
    expect(big).toMatchObject({ status: 200, bytes: BIG });
    expect(Buffer.from(big.body!).equals(pattern(BIG))).toBe(true);
    const records = await concurrently(s, 1000, 100, '/bytes/1024');
    expect(records.filter((r) => r.error !== undefined || r.status !== 200 || r.bytes !== 1024).map((r) => r.error ?? r.status)).toEqual([]);
    expect(s.connections).toHaveLength(10);
    await s.close();
  });
});
