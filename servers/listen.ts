/** Binding a TCP listener, with the mistakes users make (port taken, address absent) as UserErrors. */
import type { Server } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { UserError } from '../src/util/errors.ts';

export interface TcpListener {
  port: number;
  close(): Promise<void>;
}

/** Listens, tracks every TLS connection, and closes them all (not just the listening socket) on close(). */
export async function listenTcp(server: Server, host: string, port: number): Promise<TcpListener> {
  const sockets = new Set<TLSSocket>();
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
