import { fork } from 'node:child_process';
import { request as httpsRequest } from 'node:https';
import { connect as h2Connect } from 'node:http2';
import { createServer } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServers, type RunningServers } from '../../servers/index.ts';
import type { ServerToRunner } from '../../servers/ipc.ts';
import { generateCertificate, type GeneratedCertificate } from '../../src/tls/cert.ts';
import { monoMs } from '../../src/util/clock.ts';
import { UserError } from '../../src/util/errors.ts';
import { nodeTsArgv } from '../../src/util/node-child.ts';

let cert: GeneratedCertificate;
let servers: RunningServers;

beforeAll(async () => {
  cert = await generateCertificate();
  servers = await startServers({ host: '127.0.0.1', protocols: ['h1', 'h2'], cert, maxBodyBytes: 4 << 20 });
});
afterAll(() => servers?.close());

function handshake(port: number, alpn: string[], extra: Record<string, unknown> = {}): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host: '127.0.0.1', port, servername: 'localhost', ca: cert.caPem, ALPNProtocols: alpn, ...extra });
    socket.once('secureConnect', () => resolve(socket));
    socket.once('error', reject);
  });
}

function h1Get(path: string): Promise<{ status: number; headers: Record<string, unknown>; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest({ host: '127.0.0.1', port: servers.ports.h1, path, servername: 'localhost', ca: cert.caPem, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end();
  });
}

function h2Get(path: string): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const session = h2Connect(`https://localhost:${servers.ports.h2}`, { ca: cert.caPem, host: '127.0.0.1' } as never);
    session.on('error', reject);
    const stream = session.request({ ':path': path });
    const chunks: Buffer[] = [];
    let status = 0;
    stream.on('response', (h) => (status = Number(h[':status'])));
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => {
      session.close();
      resolve({ status, body: Buffer.concat(chunks) });
    });
    stream.on('error', reject);
  });
}

describe('matched H1/H2 listeners', () => {
  it('both speak TLS 1.3 with the same cipher suite, each only its own ALPN', async () => {
    for (const [protocol, alpn] of [
      ['h1', 'http/1.1'],
      ['h2', 'h2'],
    ] as const) {
      const socket = await handshake(servers.ports[protocol]!, ['h2', 'http/1.1']);
      expect(socket.getProtocol()).toBe('TLSv1.3');
      expect(socket.getCipher().standardName).toBe('TLS_AES_128_GCM_SHA256');
      expect(socket.alpnProtocol).toBe(alpn);
      socket.destroy();
    }
    // A client that offers only the other protocol's ALPN is refused.
    await expect(handshake(servers.ports.h1!, ['h2'])).rejects.toThrow();
    await expect(handshake(servers.ports.h2!, ['http/1.1'])).rejects.toThrow();
  });

  it('refuses TLS 1.2 clients', async () => {
    await expect(handshake(servers.ports.h1!, ['http/1.1'], { maxVersion: 'TLSv1.2' })).rejects.toThrow(/version|alert/i);
  });

  it('serves the same bytes over both protocols', async () => {
    const a = await h1Get('/bytes/300000');
    const b = await h2Get('/bytes/300000');
    expect(a.status).toBe(200);
    expect(b.status).toBe(200);
    expect(a.body.length).toBe(300000);
    expect(a.body.equals(b.body)).toBe(true);
    expect(a.headers['content-length']).toBe('300000');
    expect((await h1Get('/missing')).status).toBe(404);
  });

  it('honours /delay/<ms>', async () => {
    const t0 = monoMs();
    const res = await h2Get('/delay/200');
    expect(res.status).toBe(200);
    expect(monoMs() - t0).toBeGreaterThanOrEqual(200);
  });

  it('issues session tickets that resume a second connection', async () => {
    const first = await handshake(servers.ports.h2!, ['h2']);
    const ticket = await new Promise<Buffer>((resolve) => first.once('session', resolve));
    first.destroy();
    const second = await handshake(servers.ports.h2!, ['h2'], { session: ticket });
    expect(second.isSessionReused()).toBe(true);
    second.destroy();
  });

  it('turns a taken port into a UserError that says how to fix it', async () => {
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    const port = (blocker.address() as { port: number }).port;
    try {
      const attempt = startServers({ host: '127.0.0.1', protocols: ['h1'], cert, ports: { h1: port }, maxBodyBytes: 1024 });
      await expect(attempt).rejects.toBeInstanceOf(UserError);
      await expect(attempt).rejects.toThrow(`port ${port} on 127.0.0.1 is in use; pick another with --port or stop the process using it`);
    } finally {
      blocker.close();
    }
  });

  it('reports CPU time that grows with work', async () => {
    const before = servers.cpuUsage().totalMs;
    await Promise.all(Array.from({ length: 20 }, () => h1Get('/bytes/1000000')));
    expect(servers.cpuUsage().totalMs).toBeGreaterThan(before);
  });
});

describe('server process', () => {
  const script = fileURLToPath(new URL('../../servers/process.ts', import.meta.url));

  function spawnServer() {
    const [cmd, ...args] = nodeTsArgv(script);
    const child = fork(args[args.length - 1]!, [], { execPath: cmd, execArgv: args.slice(0, -1), stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const next = <T extends ServerToRunner['type']>(type: T) =>
      new Promise<Extract<ServerToRunner, { type: T }>>((resolve) => {
        const on = (m: ServerToRunner) => {
          if (m.type === type || m.type === 'error') {
            child.off('message', on);
            resolve(m as never);
          }
        };
        child.on('message', on);
      });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    return { child, next, exited };
  }

  it('starts on request, answers CPU queries, serves, and exits on stop', async () => {
    const { child, next, exited } = spawnServer();
    child.send({ type: 'start', host: '127.0.0.1', protocols: ['h1', 'h2'], cert: { certPem: cert.certPem, keyPem: cert.keyPem }, maxBodyBytes: 1 << 20 });
    const ready = await next('ready');
    expect(ready.type).toBe('ready');
    expect(Object.keys(ready.urls).sort()).toEqual(['h1', 'h2']);
    const socket = await handshake(ready.ports.h2!, ['h2']);
    expect(socket.alpnProtocol).toBe('h2');
    socket.destroy();
    child.send({ type: 'cpu', requestId: 7 });
    const cpu = await next('cpu');
    expect(cpu.requestId).toBe(7);
    expect(cpu.totalMs).toBeGreaterThan(0);
    child.send({ type: 'stop' });
    expect(await exited).toBe(0);
  });

  it('reports a start failure as an error message, and exits when the IPC channel closes', async () => {
    const { child, next, exited } = spawnServer();
    child.send({ type: 'start', host: '127.0.0.1', protocols: ['h1'], ports: { h1: servers.ports.h1 }, cert: { certPem: cert.certPem, keyPem: cert.keyPem }, maxBodyBytes: 1024 });
    const error = (await next('error')) as Extract<ServerToRunner, { type: 'error' }>;
    expect(error).toMatchObject({ type: 'error', code: 'E_PORT_IN_USE', userError: true });
    child.disconnect();
    expect(await exited).toBe(0);
  });
});
