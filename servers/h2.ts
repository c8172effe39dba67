/** HTTP/2 over TLS 1.3 (node:http2 secure server, no HTTP/1.1 fallback) around the shared handler. */
import { createSecureServer } from 'node:http2';
import type { TcpListenerOptions } from './h1.ts';
import { listenTcp, type TcpListener } from './listen.ts';
import { compatListener } from './respond.ts';
import { serverTlsOptions } from './tls-options.ts';

/** Flow-control windows as Chromium sets them (6 MiB per stream, 15 MiB per connection). */
export const H2_STREAM_WINDOW = 6 * 1024 * 1024;
export const H2_CONNECTION_WINDOW = 15 * 1024 * 1024;
export const H2_MAX_CONCURRENT_STREAMS = 256;

export async function startH2Listener(opts: TcpListenerOptions): Promise<TcpListener> {
  const server = createSecureServer(
    {
      ...serverTlsOptions(opts.cert, 'h2'),
      allowHTTP1: false,
      settings: { initialWindowSize: H2_STREAM_WINDOW, maxConcurrentStreams: H2_MAX_CONCURRENT_STREAMS },
      // Large responses queue in the session while the peer's window is closed; don't call that abuse.
      maxSessionMemory: 256,
    },
    compatListener(opts.handler, opts.context),
  );
  server.on('session', (session) => {
    session.on('error', () => {});
    session.setLocalWindowSize(H2_CONNECTION_WINDOW);
  });
  server.on('sessionError', () => {});
  return listenTcp(server, opts.host, opts.port, opts.pacing);
}
