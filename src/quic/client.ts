/**
 * QUIC client endpoint: one connected UDP socket per local path of one connection. A second
 * socket (another local address or port) is opened to probe or migrate to a new path.
 */
import dgram from 'node:dgram';
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { BenchError, UserError } from '../util/errors.ts';
import { connectNative, type HostPort } from './binding.ts';
import { benchPacerFor, buildNativeConfig, udpPayloadOf, type QuicOptions } from './config.ts';
import { QuicConnection, type QuicPathEvent } from './connection.ts';
import { newCid, newResetToken } from './cid.ts';
import { udpSink, type DatagramSink } from './udp-batch.ts';
import { applyKeylog } from './keylog.ts';
import { verifyAgainstCa } from './verify.ts';

export interface QuicClientOptions extends QuicOptions {
  host: string;
  port: number;
  /** SNI and certificate name; defaults to host when host is a name. */
  servername?: string;
  /** Local address to send from (selects the network path); default: chosen by routing. */
  localAddress?: string;
  /** Resumption state from an earlier connection's session(). */
  session?: Uint8Array;
}

interface PathSocket {
  socket: dgram.Socket;
  local: HostPort;
  out: DatagramSink;
}

const SPARE_CIDS = 2;

function hostPortKey(h: HostPort): string {
  return `${h.host}|${h.port}`;
}

async function openPathSocket(
  peer: HostPort,
  localAddress: string | undefined,
  udpPayload: number,
  onMessage: (msg: Buffer, local: HostPort, rinfo: dgram.RemoteInfo) => void,
): Promise<PathSocket> {
  const family = isIP(peer.host) === 6 ? 'udp6' : 'udp4';
  const socket = dgram.createSocket({ type: family, recvBufferSize: 4 << 20, sendBufferSize: 4 << 20 });
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind({ address: localAddress, port: 0 }, () => {
      socket.off('error', reject);
      resolve();
    });
  }).catch((e: NodeJS.ErrnoException) => {
    socket.close();
    throw e.code === 'EADDRNOTAVAIL'
      ? new UserError('BAD_LOCAL_ADDRESS', `Local address ${localAddress} is not on this machine (or namespace): pick one of its addresses.`)
      : e;
  });
  // A connected socket learns the real local address and skips a route lookup per datagram.
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.connect(peer.port, peer.host, () => {
      socket.off('error', reject);
      resolve();
    });
  });
  socket.on('error', () => {});
  const a = socket.address();
  const local = { host: a.address, port: a.port };
  socket.on('message', (msg, rinfo) => onMessage(msg, local, rinfo));
  return { socket, local, out: udpSink(socket, udpPayload, true) };
}

export class QuicClient {
  private readonly sockets = new Map<string, PathSocket>();
  /** Why the server certificate was refused, when it was. */
  verifyError: string | undefined;

  private constructor(
    readonly connection: QuicConnection,
    first: PathSocket,
    /** GSO segment size of every path socket: the largest datagram this client sends. */
    private readonly udpPayload: number,
  ) {
    this.sockets.set(hostPortKey(first.local), first);
  }

  /**
   * Binds a socket, creates the connection and sends the first flight. Resolves before the
   * handshake completes: await established() for 1-RTT, or write at once when isInEarlyData.
   */
  static async connect(opts: QuicClientOptions): Promise<QuicClient> {
    const peerHost = isIP(opts.host) ? opts.host : (await lookup(opts.host)).address;
    const peer = { host: peerHost, port: opts.port };
    // With an explicit CA we check the certificate ourselves (verify.ts); BoringSSL checks only
    // against system roots.
    const verifyWithCa = opts.caPem !== undefined && opts.verifyPeer !== false;
    const config = buildNativeConfig(
      { ...opts, verifyPeer: verifyWithCa ? false : (opts.verifyPeer ?? true) },
      'client',
    );
    let client: QuicClient | undefined;
    const first = await openPathSocket(peer, opts.localAddress, udpPayloadOf(opts), (msg, local, rinfo) =>
      client?.connection.receive(msg, { host: rinfo.address, port: rinfo.port }, local),
    );
    const servername = opts.servername ?? (isIP(opts.host) ? undefined : opts.host);
    const native = connectNative(servername, newCid(), first.local, peer, config);
    const copyKeys = applyKeylog(native);
    if (opts.session) {
      try {
        native.setSession(opts.session);
      } catch (e) {
        first.socket.close();
        throw new UserError('BAD_SESSION', 'The QUIC session to resume is not valid: pass the bytes session() returned.', { cause: e });
      }
    }
    const write = {
      write(data: Uint8Array, length: number, to: HostPort, from: HostPort) {
        return (client?.sockets.get(hostPortKey(from)) ?? first).out.write(data, length, to);
      },
      flush() {
        if (!client) return first.out.flush();
        let sends = 0;
        for (const s of client.sockets.values()) sends += s.out.flush();
        return sends;
      },
    };
    const conn = new QuicConnection(native, 'client', write, first.local, peer, benchPacerFor(opts, 'client'));
    client = new QuicClient(conn, first, udpPayloadOf(opts));
    conn.on('established', () => {
      copyKeys(false);
      if (verifyWithCa) {
        const problem = verifyAgainstCa(native.peerCertChain(), opts.caPem!, servername ?? peerHost);
        if (problem) {
          client!.verifyError = problem;
          // TLS alert bad_certificate (42) as a QUIC crypto error (0x100 + alert).
          void conn.close({ app: false, code: 0x100 + 42, reason: problem, maxWaitMs: 1000 });
          return;
        }
      }
      for (let i = 0; i < SPARE_CIDS && conn.sourceCidsLeft() > 0; i++) conn.newSourceCid(newCid(), newResetToken());
    });
    conn.once('closed', () => {
      copyKeys(true);
      client!.closeSockets();
    });
    conn.flushNow();
    if (native.isInEarlyData()) conn.timings.earlyDataStarted = conn.timings.start;
    return client;
  }

  /** Resolves when the handshake completes; rejects when the connection closes first. */
  established(timeoutMs = 10_000): Promise<void> {
    const c = this.connection;
    if (c.isEstablished) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        cleanup();
        void c.close({ app: false, code: 0, maxWaitMs: 0 });
        reject(new BenchError('QUIC_HANDSHAKE_TIMEOUT', `QUIC handshake with ${c.peer.host}:${c.peer.port} did not complete in ${timeoutMs} ms`));
      }, timeoutMs);
      const onEst = () => {
        cleanup();
        if (this.verifyError) reject(new BenchError('QUIC_BAD_CERTIFICATE', `QUIC server ${c.peer.host}:${c.peer.port}: ${this.verifyError}`));
        else resolve();
      };
      const onClosed = () => {
        cleanup();
        const e = c.native.localError() ?? c.native.peerError();
        const detail = e ? ` (${e.isApp ? 'application' : 'transport'} error 0x${e.errorCode.toString(16)} ${Buffer.from(e.reason).toString()})` : '';
        reject(new BenchError('QUIC_HANDSHAKE_FAILED', `QUIC handshake with ${c.peer.host}:${c.peer.port} failed${detail}`));
      };
      const cleanup = () => {
        clearTimeout(timer);
        c.off('established', onEst);
        c.off('closed', onClosed);
      };
      c.on('established', onEst);
      c.on('closed', onClosed);
    });
  }

  get localAddresses(): HostPort[] {
    return [...this.sockets.values()].map((s) => s.local);
  }

  private async socketFor(localAddress: string): Promise<PathSocket> {
    const c = this.connection;
    const s = await openPathSocket(c.peer, localAddress, this.udpPayload, (msg, local, rinfo) =>
      c.receive(msg, { host: rinfo.address, port: rinfo.port }, local),
    );
    this.sockets.set(hostPortKey(s.local), s);
    return s;
  }

  /** Validates a new path from localAddress without moving to it; resolves when validated. */
  async probe(localAddress: string, timeoutMs = 5000): Promise<HostPort> {
    const s = await this.socketFor(localAddress);
    this.requireSpareCid();
    this.connection.probePath(s.local);
    await this.pathEvent((e) => e.type === 'Validated' && hostPortKey(e.local) === hostPortKey(s.local), timeoutMs);
    return s.local;
  }

  /**
   * Moves the connection to a new UDP socket on localAddress (connection migration, RFC 9000
   * section 9). By default the new path is probed first (PATH_CHALLENGE, 1 RTT) and the
   * connection switches once it is validated, as quiche's own client does; with probe false
   * it switches at once and a PING makes the server see the new address (and validate it).
   * The old socket is closed a moment later.
   */
  async migrate(localAddress: string, opts: { probe?: boolean; timeoutMs?: number } = {}): Promise<HostPort> {
    const c = this.connection;
    const old = c.local;
    const s = await this.socketFor(localAddress);
    this.requireSpareCid();
    if (opts.probe ?? true) {
      const validated = this.pathEvent(
        (e) => e.type === 'Validated' && hostPortKey(e.local) === hostPortKey(s.local),
        opts.timeoutMs ?? 5000,
      );
      c.probePath(s.local);
      await validated;
    }
    c.migrateTo(s.local);
    c.sendPing();
    const oldSocket = this.sockets.get(hostPortKey(old));
    if (oldSocket && hostPortKey(old) !== hostPortKey(s.local)) {
      this.sockets.delete(hostPortKey(old));
      // Late packets on the old path are harmless; give them a moment before closing.
      setTimeout(() => oldSocket.socket.close(), 1000).unref();
    }
    return s.local;
  }

  private requireSpareCid(): void {
    if (this.connection.native.availableDcids() < 1) {
      throw new BenchError('QUIC_NO_SPARE_CID', 'The server has not issued a spare connection ID yet; cannot use a new path.');
    }
  }

  private pathEvent(match: (e: QuicPathEvent) => boolean, timeoutMs: number): Promise<void> {
    const c = this.connection;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        c.off('path', onPath);
        reject(new BenchError('QUIC_PATH_TIMEOUT', `path validation did not finish in ${timeoutMs} ms`));
      }, timeoutMs);
      const onPath = (e: QuicPathEvent) => {
        if (!match(e)) return;
        clearTimeout(timer);
        c.off('path', onPath);
        resolve();
      };
      c.on('path', onPath);
    });
  }

  /** Graceful close: CONNECTION_CLOSE with the given application code, then the sockets. */
  async close(code = 0, reason = ''): Promise<void> {
    await this.connection.close({ app: true, code, reason, maxWaitMs: 1000 });
    this.closeSockets();
  }

  private closeSockets(): void {
    for (const s of this.sockets.values()) s.socket.close();
    this.sockets.clear();
  }
}
