/**
 * TCP + TLS 1.3 connections for the h1 and h2 drivers, observed from the first SYN: every socket
 * gets a ConnectionRecord with connect, handshake and resumption facts.
 */
import { isIP } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions, type TLSSocket } from 'node:tls';
import { monoMs } from '../util/clock.ts';
import { BenchError } from '../util/errors.ts';
import { appendKeylog, keylogPath } from '../util/keylog.ts';
import { errorText, newConnectionId } from './common.ts';
import type { ConnectionRecord, Protocol, Target } from './types.ts';

export interface TlsConnectParams {
  protocol: Protocol;
  target: Target;
  /** The one ALPN token offered ('http/1.1' or 'h2'): a server that cannot speak it fails the handshake. */
  alpn: string;
  localAddress?: string;
  /** A TLS session ticket from an earlier connection (resumption). */
  session?: Uint8Array;
  /** Every new ticket the server sends on this connection. */
  onTicket?: (ticket: Buffer) => void;
}

export interface TlsConnection {
  socket: TLSSocket;
  record: ConnectionRecord;
  /** Resolves after the TLS handshake with the expected ALPN; rejects (and destroys) otherwise. */
  ready: Promise<TLSSocket>;
}

export function openTlsConnection(params: TlsConnectParams): TlsConnection {
  const { target } = params;
  const record: ConnectionRecord = {
    id: newConnectionId(params.protocol),
    protocol: params.protocol,
    start: monoMs(),
    resumed: false,
    // Node's TLS cannot send TLS 1.3 early data.
    earlyData: 'n/a',
  };
  const servername = target.servername ?? target.host;
  // tls.connect passes localAddress on to net.connect; its types just do not list it.
  const options: ConnectionOptions & { localAddress?: string } = {
    host: target.host,
    port: target.port,
    // SNI must not be an IP literal (RFC 6066); identity is then checked against the address.
    servername: isIP(servername) ? undefined : servername,
    ca: target.ca,
    rejectUnauthorized: !target.insecure,
    ALPNProtocols: [params.alpn],
    minVersion: 'TLSv1.3',
    localAddress: params.localAddress,
    session: params.session ? Buffer.from(params.session) : undefined,
  };
  const socket = tlsConnect(options);
  // Requests are small writes that must not wait for Nagle (browsers set TCP_NODELAY too).
  socket.setNoDelay(true);
  socket.once('connect', () => {
    record.transportReady = monoMs();
    record.localAddress = socket.localAddress;
    record.localPort = socket.localPort;
    record.remoteAddress = socket.remoteAddress;
    record.remotePort = socket.remotePort;
  });
  socket.on('session', (ticket: Buffer) => params.onTicket?.(ticket));
  const keylog = keylogPath();
  if (keylog) socket.on('keylog', (line: Buffer) => appendKeylog(keylog, line));
  socket.once('close', () => {
    record.closed = monoMs();
  });
  const ready = new Promise<TLSSocket>((resolve, reject) => {
    const onError = (error: Error) => {
      record.error ??= errorText(error);
      reject(error);
    };
    socket.once('error', onError);
    socket.once('secureConnect', () => {
      record.tlsReady = monoMs();
      record.resumed = socket.isSessionReused();
      record.alpn = socket.alpnProtocol || undefined;
      if (socket.alpnProtocol !== params.alpn) {
        const error = new Error(`${target.host}:${target.port} did not negotiate ALPN "${params.alpn}" (got ${socket.alpnProtocol || 'none'})`);
        record.error = error.message;
        socket.destroy();
        reject(error);
        return;
      }
      socket.off('error', onError);
      // Later errors are the protocol client's to report; keep the first one on the record.
      socket.on('error', (error) => {
        record.error ??= errorText(error);
      });
      resolve(socket);
    });
  });
  return { socket, record, ready };
}

/** How often silence is checked: at most 250 ms late, so the reported interruption is not the check's period. */
const silenceCheckMs = (silenceMs: number) => Math.max(10, Math.min(250, silenceMs / 4));

/**
 * Calls onSilent once the connection has had requests in flight (`busy`) and received nothing for
 * silenceMs (ConnectOptions.silenceTimeoutMs). Checked every silenceCheckMs; ends with the socket.
 */
export function watchSilence(socket: TLSSocket, silenceMs: number, busy: () => boolean, onSilent: () => void): void {
  let bytes = socket.bytesRead;
  let quietSince = monoMs();
  const timer = setInterval(() => {
    if (socket.bytesRead !== bytes || !busy()) {
      bytes = socket.bytesRead;
      quietSince = monoMs();
    } else if (monoMs() - quietSince >= silenceMs) {
      clearInterval(timer);
      onSilent();
    }
  }, silenceCheckMs(silenceMs));
  timer.unref();
  socket.once('close', () => clearInterval(timer));
}

/** The error a silent connection is given up with (see watchSilence). */
export function silenceError(silenceMs: number): BenchError {
  return new BenchError('E_CONNECTION_SILENT', `nothing received for ${silenceMs} ms with requests in flight`);
}

/** Ends a socket (FIN after what is queued), destroying it if it has not closed within `graceMs`. */
export function endSocket(socket: TLSSocket, graceMs: number): void {
  socket.end();
  setTimeout(() => socket.destroy(), graceMs).unref();
}
