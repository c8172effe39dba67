/** HTTP/1.1 over TLS 1.3 (node:https) around the shared handler. */
import type { SenderPacing } from '../netem/model.ts';
import { createServer } from 'node:https';
import type { HandlerContext, RequestHandler, StreamScheduling } from './handler-types.ts';
import { listenTcp, type TcpListener } from './listen.ts';
import { compatListener } from './respond.ts';
import { serverTlsOptions, type ServerCertificate } from './tls-options.ts';

export interface TcpListenerOptions {
  host: string;
  /** 0 = any free port. */
  port: number;
  cert: ServerCertificate;
  handler: RequestHandler;
  /** Shared, mutable: the H3 port is filled in once that listener is up. */
  context: HandlerContext;
  /** `on`: every accepted connection paces (Linux TCP's own pacer). */
  pacing?: SenderPacing;
  /** HTTP/2 only: how responses share a connection (HTTP/1.1 sends one at a time anyway). */
  scheduling?: StreamScheduling;
}

export async function startH1Listener(opts: TcpListenerOptions): Promise<TcpListener> {
  const server = createServer(
    { ...serverTlsOptions(opts.cert, 'http/1.1'), keepAlive: true, noDelay: true },
    compatListener(opts.handler, opts.context),
  );
  // Load generators keep connections open between bursts; never close an idle one mid-cell.
  server.keepAliveTimeout = 120_000;
  server.headersTimeout = 121_000;
  server.requestTimeout = 0;
  server.maxRequestsPerSocket = 0;
  return listenTcp(server, opts.host, opts.port, opts.pacing);
}
