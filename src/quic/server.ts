/**
 * QUIC server endpoint: one UDP socket, many connections routed by destination connection ID.
 * During the handshake a client keeps using the DCID it chose, so that original DCID is routed
 * too until the connection is established. Version negotiation and stateless retry are done
 * here (quiche leaves both to the application).
 */
import dgram from 'node:dgram';
import { EventEmitter } from 'node:events';
import { isIPv6 } from 'node:net';
import { UserError } from '../util/errors.ts';
import {
  acceptNative,
  MAX_CONN_ID_LEN,
  negotiateVersion,
  PacketType,
  parseHeader,
  versionIsSupported,
  writeRetry,
  type HostPort,
  type NativeConfig,
} from './binding.ts';
import { benchPacerFor, buildNativeConfig, udpPayloadOf, type QuicOptions } from './config.ts';
import { QuicConnection, type DatagramWriter } from './connection.ts';
import { udpSink, type DatagramSink } from './udp-batch.ts';
import { cidKey, newCid, newResetToken } from './cid.ts';
import { applyKeylog } from './keylog.ts';
import { RetryTokens } from './retry.ts';

export interface QuicServerOptions extends QuicOptions {
  host: string;
  /** 0 picks a free port. */
  port: number;
  /** Send a Retry to every new client first (address validation; costs one RTT). */
  retry?: boolean;
  /** Most connections served at once; further Initials are dropped. */
  maxConnections?: number;
}

export interface QuicServerEvents {
  connection: [QuicConnection];
}

/** Counters of what the endpoint dropped or answered statelessly. */
export interface QuicServerCounters {
  datagrams: number;
  undecodable: number;
  unknownConnection: number;
  versionNegotiations: number;
  retries: number;
  invalidTokens: number;
  accepted: number;
  refused: number;
}

/** Extra connection IDs handed to each client so it can probe and migrate paths. */
const SPARE_CIDS = 2;

export class QuicServer extends EventEmitter<QuicServerEvents> {
  private readonly socket: dgram.Socket;
  private readonly config: NativeConfig;
  private readonly routes = new Map<string, QuicConnection>();
  private readonly live = new Set<QuicConnection>();
  private readonly tokens = new RetryTokens();
  private readonly scratch = Buffer.allocUnsafe(1500);
  private local: HostPort = { host: '', port: 0 };
  private closing = false;
  readonly counters: QuicServerCounters = {
    datagrams: 0,
    undecodable: 0,
    unknownConnection: 0,
    versionNegotiations: 0,
    retries: 0,
    invalidTokens: 0,
    accepted: 0,
    refused: 0,
  };

  constructor(private readonly opts: QuicServerOptions) {
    super();
    this.config = buildNativeConfig(opts, 'server');
    this.socket = dgram.createSocket({ type: isIPv6(opts.host) ? 'udp6' : 'udp4', recvBufferSize: 4 << 20, sendBufferSize: 4 << 20 });
    this.socket.on('message', this.onMessage);
    // Send errors (e.g. an unreachable client port) must not take the server down.
    this.socket.on('error', () => {});
  }

  async listen(): Promise<HostPort> {
    await new Promise<void>((resolve, reject) => {
      const onError = (e: NodeJS.ErrnoException) =>
        reject(
          e.code === 'EADDRINUSE'
            ? new UserError('PORT_IN_USE', `UDP port ${this.opts.port} on ${this.opts.host} is in use: pick another port.`)
            : e,
        );
      this.socket.once('error', onError);
      this.socket.bind({ address: this.opts.host, port: this.opts.port }, () => {
        this.socket.off('error', onError);
        resolve();
      });
    });
    const a = this.socket.address();
    try {
      this.socket.setRecvBufferSize(4 << 20);
      this.socket.setSendBufferSize(4 << 20);
    } catch {
      // Kernel limits (rmem_max) apply; the defaults still work.
    }
    this.local = { host: a.address, port: a.port };
    this.out = udpSink(this.socket, udpPayloadOf(this.opts), false);
    return this.local;
  }

  get address(): HostPort {
    return this.local;
  }

  get connections(): ReadonlySet<QuicConnection> {
    return this.live;
  }

  /** Every connection's packets leave through the listening socket (UDP GSO when the kernel has it). */
  private out: DatagramSink | undefined;
  private readonly writeDatagram: DatagramWriter = {
    write: (data, length, to) => this.out!.write(data, length, to),
    flush: () => this.out!.flush(),
  };

  private readonly onMessage = (msg: Buffer, rinfo: dgram.RemoteInfo): void => {
    this.counters.datagrams++;
    const from = { host: rinfo.address, port: rinfo.port };
    // Fast path for 1-RTT packets (short header, RFC 9000 section 17.3: first bit 0, then our
    // fixed-length DCID): no native header parse.
    if (msg.length > MAX_CONN_ID_LEN && (msg[0]! & 0x80) === 0) {
      const conn = this.routes.get(msg.toString('hex', 1, 1 + MAX_CONN_ID_LEN));
      if (conn) conn.receive(msg, from, this.local);
      else this.counters.unknownConnection++;
      return;
    }
    const hdr = parseHeader(msg, MAX_CONN_ID_LEN);
    if (!hdr) {
      this.counters.undecodable++;
      return;
    }
    const conn = this.routes.get(cidKey(hdr.dcid));
    if (conn) {
      conn.receive(msg, from, this.local);
      return;
    }
    if (hdr.type !== PacketType.Initial) {
      this.counters.unknownConnection++;
      return;
    }
    if (!versionIsSupported(hdr.version)) {
      const n = negotiateVersion(hdr.scid, hdr.dcid, this.scratch);
      this.counters.versionNegotiations++;
      this.socket.send(Buffer.from(this.scratch.subarray(0, n)), rinfo.port, rinfo.address);
      return;
    }
    // RFC 9000 section 14.1: a client Initial is padded to at least 1200 bytes.
    if (msg.length < 1200) {
      this.counters.undecodable++;
      return;
    }
    if (this.closing || this.live.size >= (this.opts.maxConnections ?? 10_000)) {
      this.counters.refused++;
      return;
    }
    let odcid: Uint8Array | undefined;
    if (this.opts.retry) {
      if (!hdr.token || hdr.token.length === 0) {
        const newScid = newCid();
        const token = this.tokens.mint(from, hdr.dcid);
        const n = writeRetry(hdr.scid, hdr.dcid, newScid, token, hdr.version, this.scratch);
        this.counters.retries++;
        this.socket.send(Buffer.from(this.scratch.subarray(0, n)), rinfo.port, rinfo.address);
        return;
      }
      odcid = this.tokens.validate(from, hdr.token);
      if (!odcid) {
        this.counters.invalidTokens++;
        return;
      }
    }
    // After a Retry the client already uses the CID we chose in it: keep it as our SCID.
    const scid = odcid ? hdr.dcid : newCid();
    let native;
    try {
      native = acceptNative(scid, odcid, this.local, from, this.config);
    } catch {
      this.counters.undecodable++;
      return;
    }
    const copyKeys = applyKeylog(native);
    const c = new QuicConnection(native, 'server', this.writeDatagram, this.local, from, benchPacerFor(this.opts, 'server'));
    const scidKey = cidKey(scid);
    const odcidKey = cidKey(hdr.dcid);
    const keys = new Set([scidKey, odcidKey]);
    for (const k of keys) this.routes.set(k, c);
    this.live.add(c);
    this.counters.accepted++;
    c.on('established', () => {
      copyKeys(false);
      // The client switched to our SCID; its first DCID must not route any more.
      if (odcidKey !== scidKey) {
        this.routes.delete(odcidKey);
        keys.delete(odcidKey);
      }
      for (let i = 0; i < SPARE_CIDS && c.sourceCidsLeft() > 0; i++) {
        const cid = newCid();
        if (c.newSourceCid(cid, newResetToken())) {
          const k = cidKey(cid);
          keys.add(k);
          this.routes.set(k, c);
        }
      }
    });
    c.on('activity', () => {
      for (const cid of c.retiredSourceCids()) {
        const k = cidKey(cid);
        this.routes.delete(k);
        keys.delete(k);
      }
    });
    c.once('closed', () => {
      copyKeys(true);
      for (const k of keys) if (this.routes.get(k) === c) this.routes.delete(k);
      this.live.delete(c);
    });
    this.emit('connection', c);
    c.receive(msg, from, this.local);
  };

  /**
   * Stops accepting, closes every connection (application close with code, e.g. H3_NO_ERROR
   * after the application sent GOAWAY) and the socket.
   */
  async close(opts: { code?: number; reason?: string; maxWaitMs?: number } = {}): Promise<void> {
    this.closing = true;
    await Promise.all(
      [...this.live].map((c) => c.close({ app: true, code: opts.code ?? 0, reason: opts.reason, maxWaitMs: opts.maxWaitMs ?? 1000 })),
    );
    await new Promise<void>((resolve) => this.socket.close(() => resolve()));
  }
}
