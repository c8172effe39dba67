/** Binding a TCP listener, with the mistakes users make (port taken, address absent) as UserErrors. */
import type { Server, Socket } from 'node:net';
import { enableTcpPacing } from '../netem/userspace/libc.ts';
import type { SenderPacing } from '../netem/model.ts';
import type { TLSSocket } from 'node:tls';
import { UserError } from '../src/util/errors.ts';

export interface TcpListener {
  port: number;
  close(): Promise<void>;
}

/** Listens, tracks every TLS connection, and closes them all (not just the listening socket) on close(). */
export async function listenTcp(server: Server, host: string, port: number, pacing: SenderPacing = 'default'): Promise<TcpListener> {
  const sockets = new Set<TLSSocket>();
  if (pacing === 'on') {
    // Before TLS wraps it: the raw TCP socket's descriptor.
    server.on('connection', (socket: Socket) => enableTcpPacing(socketFd(socket)));
  }
  server.on('secureConnection', (socket: TLSSocket) => {
    // Small responses must not wait for Nagle: the same for every protocol.
    socket.setNoDelay(true);
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  // A client that resets mid-handshake must not take the server down.
  server.on('tlsClientError', () => {});
  await new Promise<void>((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) => reject(listenError(error, host, port));
    server.once('error', onError);
    server.listen({ host, port }, () => {
      server.off('error', onError);
      resolve();
    });
  });
  server.on('error', () => {});
  const address = server.address();
  const bound = typeof address === 'object' && address ? address.port : port;
  return {
    port: bound,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      }),
  };
}

export function listenError(error: NodeJS.ErrnoException, host: string, port: number): Error {
  if (error.code === 'EADDRINUSE') {
    return new UserError(
      'E_PORT_IN_USE',
      `port ${port} on ${host} is in use; pick another with --port or stop the process using it`,
      { cause: error },
    );
  }
  if (error.code === 'EADDRNOTAVAIL') {
    return new UserError('E_ADDRESS_UNAVAILABLE', `address ${host} is not assigned to this machine (or namespace); pick another with --host`, { cause: error });
  }
  if (error.code === 'EACCES') {
    return new UserError('E_PORT_DENIED', `port ${port} needs privileges; pick one above 1023 with --port or run as root`, { cause: error });
  }
  return error;
}

/** A connected TCP socket's file descriptor (libuv's handle keeps it; Node has no public accessor). */
function socketFd(socket: Socket): number {
  const fd = (socket as unknown as { _handle?: { fd?: number } })._handle?.fd;
  if (typeof fd !== 'number' || fd < 0) throw new Error('no file descriptor on an accepted TCP socket');
  return fd;
}
