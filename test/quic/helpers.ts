/** Raw-stream QUIC peers for endpoint tests: an echo/bulk server and a stream-reading client. */
import { createHash } from 'node:crypto';
import { generateCertificate, type GeneratedCertificate } from '../../src/tls/cert.ts';
import { QuicClient, QuicServer, type QuicConnection, type QuicServerOptions } from '../../src/quic/index.ts';

export const ALPN = ['bench-test'];

let certPromise: Promise<GeneratedCertificate> | undefined;
export function testCert(): Promise<GeneratedCertificate> {
  certPromise ??= generateCertificate();
  return certPromise;
}

/**
 * Server behaviour per client-initiated bidi stream: the client sends a command line
 * "echo" (echo everything back) or "bulk <n>" (send n bytes of a deterministic pattern).
 */
export async function startRawServer(extra: Partial<QuicServerOptions> = {}): Promise<QuicServer> {
  const cert = await testCert();
  const server = new QuicServer({
    host: '127.0.0.1',
    port: 0,
    alpn: ALPN,
    certPem: cert.certPem,
    keyPem: cert.keyPem,
    ...extra,
  });
  server.on('connection', (c) => serveRaw(c));
  await server.listen();
  return server;
}

export function pattern(n: number): Buffer {
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + (i >> 8)) & 0xff;
  return b;
}

function serveRaw(c: QuicConnection): void {
  const inbox = new Map<number, Buffer[]>();
  const outbox = new Map<number, { data: Buffer; off: number }>();
  const buf = Buffer.allocUnsafe(65536);
  c.on('activity', () => {
    for (const id of c.readableStreams()) {
      for (;;) {
        let r;
        try {
          r = c.streamRecv(id, buf);
        } catch {
          break;
        }
        if (!r) break;
        const chunks = inbox.get(id) ?? [];
        chunks.push(Buffer.from(buf.subarray(0, r.length)));
        inbox.set(id, chunks);
        if (r.fin) {
          const req = Buffer.concat(chunks);
          inbox.delete(id);
          const text = req.subarray(0, 64).toString();
          const data = text.startsWith('bulk ') ? pattern(Number(text.slice(5).trim())) : req;
          outbox.set(id, { data, off: 0 });
          break;
        }
      }
    }
    for (const [id, o] of outbox) {
      try {
        while (o.off < o.data.length) {
          const n = c.streamSend(id, o.data.subarray(o.off), true);
          if (n === 0) break;
          o.off += n;
        }
        if (o.data.length === 0) c.streamSend(id, o.data, true);
      } catch {
        outbox.delete(id);
        continue;
      }
      if (o.off >= o.data.length) outbox.delete(id);
    }
  });
}

/** Sends `request` on a new bidi stream and collects the whole response. */
export function rawRequest(client: QuicClient, streamId: number, request: Uint8Array): Promise<Buffer> {
  const c = client.connection;
  const chunks: Buffer[] = [];
  const buf = Buffer.allocUnsafe(65536);
  let sent = 0;
  return new Promise((resolve, reject) => {
    const step = () => {
      try {
        if (sent < request.length) sent += c.streamSend(streamId, request.subarray(sent), true);
        else if (request.length === 0 && sent === 0) c.streamSend(streamId, request, true);
        for (;;) {
          const r = c.streamRecv(streamId, buf);
          if (!r) break;
          chunks.push(Buffer.from(buf.subarray(0, r.length)));
          if (r.fin) {
            c.off('activity', step);
            c.off('closed', onClosed);
            resolve(Buffer.concat(chunks));
            return;
          }
        }
      } catch (e) {
        c.off('activity', step);
        c.off('closed', onClosed);
        reject(e);
      }
    };
    const onClosed = () => {
      c.off('activity', step);
      reject(new Error('connection closed before the response completed'));
    };
    c.on('activity', step);
    c.on('closed', onClosed);
    step();
  });
}

export function sha256(b: Uint8Array): string {
  return createHash('sha256').update(b).digest('hex');
}

export async function connectRaw(server: QuicServer, extra: Partial<Parameters<typeof QuicClient.connect>[0]> = {}) {
  const cert = await testCert();
  return QuicClient.connect({
    host: '127.0.0.1',
    port: server.address.port,
    servername: 'localhost',
    alpn: ALPN,
    caPem: cert.certPem,
    ...extra,
  });
}
