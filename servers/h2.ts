/** HTTP/2 over TLS 1.3 (node:http2 secure server, no HTTP/1.1 fallback) around the shared handler. */
import { createSecureServer } from 'node:http2';
import type { ServerHttp2Session, ServerHttp2Stream } from 'node:http2';
import type { TcpListenerOptions } from './h1.ts';
import { DEFAULT_STREAM_SCHEDULING } from './handler-types.ts';
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
  const sequential = (opts.scheduling ?? DEFAULT_STREAM_SCHEDULING) === 'sequential';
  server.on('session', (session) => {
    session.on('error', () => {});
    session.setLocalWindowSize(H2_CONNECTION_WINDOW);
    if (sequential) session.on('stream', chainAfterLatest(session));
  });
  server.on('sessionError', () => {});
  return listenTcp(server, opts.host, opts.port, opts.pacing);
}

/**
 * Sequential scheduling in nghttp2's priority tree (RFC 7540 section 5.3, which node's nghttp2
 * still applies to what it sends): each new stream depends exclusively on the one opened before
 * it, so a response's DATA goes out only when every earlier response has none left to send. Set
 * locally (silent): the client's own priority signals are replaced, as the scenario asks.
 */
function chainAfterLatest(session: ServerHttp2Session): (stream: ServerHttp2Stream) => void {
  let latest: ServerHttp2Stream | undefined;
  return (stream) => {
    if (latest && !latest.closed && !latest.destroyed) stream.priority({ parent: latest.id!, exclusive: true, weight: 16, silent: true });
    latest = stream;
  };
}
