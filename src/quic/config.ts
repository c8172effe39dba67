/** Transport settings of one endpoint, turned into a quiche Config. */
import { randomBytes } from 'node:crypto';
import { UserError } from '../util/errors.ts';
import {
  DEFAULT_UDP_PAYLOAD,
  MAX_UDP_PAYLOAD,
  newNativeConfig,
  setCongestionControl,
  type CongestionControl,
  type NativeConfig,
} from './binding.ts';
import type { SenderPacing } from '../../netem/model.ts';
import { keylogPath } from './keylog.ts';
import { Pacer } from './pacer.ts';

export interface QuicOptions {
  /** ALPN protocols, most preferred first (HTTP/3: ['h3']). */
  alpn: string[];
  /** Server: PEM certificate chain and key. */
  certPem?: string;
  keyPem?: string;
  /** Client: PEM CA (or the server's self-signed certificate) to verify against. */
  caPem?: string;
  /** Client: verify the server certificate (default true when caPem is set). */
  verifyPeer?: boolean;
  congestionControl?: CongestionControl;
  /** Close after this much silence (ms); default 30 s. 0 disables (not recommended). */
  idleTimeoutMs?: number;
  /** Largest UDP payload we send and accept; default quiche's 1350. */
  maxUdpPayload?: number;
  /** Connection-level flow control window advertised at start. */
  initialMaxData?: number;
  /** Per-stream window advertised at start (bidi local and remote, and uni). */
  initialMaxStreamData?: number;
  /** Concurrent bidirectional streams the peer may open (HTTP/3: its concurrent requests). */
  initialMaxStreamsBidi?: number;
  initialMaxStreamsUni?: number;
  /** Accept (server) or attempt (client) 0-RTT early data. */
  earlyData?: boolean;
  /** Server: session ticket key (48 bytes) so tickets survive a listener restart. */
  ticketKey?: Uint8Array;
  /** Who paces this endpoint's packets (default `bench`; see pacerOf). */
  pacing?: QuicPacing;
  /** Send GREASE values in transport parameters (default on). */
  grease?: boolean;
  /** Tell the peer not to migrate (default false: migration is measured). */
  disableActiveMigration?: boolean;
  /** How many connection IDs we accept from the peer (>= 2 for migration). */
  activeConnectionIdLimit?: number;
}

/**
 * Who paces an endpoint's packets: bench's pacer (pacer.ts: Linux's gains, every packet dated
 * when it leaves), quiche's own (1.25 x cwnd/srtt; dates packets at its release time, stats.ts
 * SendDating), or nobody.
 */
export type QuicPacing = 'bench' | 'quiche' | 'off';

/**
 * The pacer an endpoint with these options runs. BBR keeps quiche's: its pacing rate is part of
 * the algorithm (startup and probing gains), as Linux's BBR paces itself. A client keeps quiche's
 * too: it sends ACKs all the time, so with quiche's pacer off quiche's send dates would never
 * catch up with the clock (pacer.ts; measured: the client's RTT estimate read 1.2 s at 2% loss on
 * a 100 ms path), while with it on they run tens of ms early (stats.ts, SendDating).
 */
export function pacerOf(opts: Pick<QuicOptions, 'pacing' | 'congestionControl'>, role: 'client' | 'server'): QuicPacing {
  const pacing = opts.pacing ?? 'bench';
  return pacing === 'bench' && (opts.congestionControl === 'bbr' || role === 'client') ? 'quiche' : pacing;
}

/** The QUIC pacer a scenario's `network.pacing` asks for (netem/model.ts, SenderPacing). */
export function quicPacingFor(pacing: SenderPacing = 'default'): QuicPacing {
  if (pacing === 'off') return 'off';
  return pacing === 'quiche' ? 'quiche' : 'bench';
}

/** A pacer for a connection of an endpoint with these options, when bench paces it. */
export function benchPacerFor(opts: Pick<QuicOptions, 'pacing' | 'congestionControl' | 'maxUdpPayload'>, role: 'client' | 'server'): Pacer | undefined {
  return pacerOf(opts, role) === 'bench' ? new Pacer(udpPayloadOf(opts)) : undefined;
}

export const CONGESTION_CONTROLS: readonly CongestionControl[] = ['cubic', 'reno', 'bbr'];

/**
 * Receive windows as Chromium sets them for QUIC and HTTP/2 (6 MiB per stream, 15 MiB per
 * connection), the same numbers our H2 client and server use, so flow control does not tilt a
 * comparison. 256 concurrent requests, as our H2 server's SETTINGS_MAX_CONCURRENT_STREAMS.
 */
const DEFAULTS = {
  idleTimeoutMs: 30_000,
  initialMaxData: 15 * 1024 * 1024,
  initialMaxStreamData: 6 * 1024 * 1024,
  initialMaxStreamsBidi: 256,
  initialMaxStreamsUni: 16,
} as const;

/** The largest UDP payload an endpoint with these options sends (quiche's max_send_udp_payload). */
export function udpPayloadOf(opts: Pick<QuicOptions, 'maxUdpPayload'>): number {
  return opts.maxUdpPayload ?? DEFAULT_UDP_PAYLOAD;
}

export function buildNativeConfig(opts: QuicOptions, role: 'client' | 'server'): NativeConfig {
  if (role === 'server' && (!opts.certPem || !opts.keyPem)) {
    throw new UserError('QUIC_NO_CERT', 'An HTTP/3 (QUIC) listener needs a certificate and key (certPem, keyPem).');
  }
  const cc = opts.congestionControl ?? 'cubic';
  if (!CONGESTION_CONTROLS.includes(cc)) {
    throw new UserError(
      'QUIC_BAD_CC',
      `Unknown congestion control "${cc}": use one of ${CONGESTION_CONTROLS.join(', ')}.`,
    );
  }
  const payload = opts.maxUdpPayload ?? DEFAULT_UDP_PAYLOAD;
  if (payload < 1200 || payload > MAX_UDP_PAYLOAD) {
    throw new UserError('QUIC_BAD_PAYLOAD', `maxUdpPayload must be between 1200 and ${MAX_UDP_PAYLOAD}.`);
  }
  const verifyPeer = role === 'client' ? (opts.verifyPeer ?? true) : false;
  const config = newNativeConfig({
    certPem: opts.certPem,
    keyPem: opts.keyPem,
    caPem: opts.caPem,
    verifyPeer,
  });
  config.setApplicationProtos(opts.alpn);
  config.setMaxIdleTimeout(opts.idleTimeoutMs ?? DEFAULTS.idleTimeoutMs);
  config.setMaxRecvUdpPayloadSize(MAX_UDP_PAYLOAD);
  config.setMaxSendUdpPayloadSize(payload);
  const streamWindow = opts.initialMaxStreamData ?? DEFAULTS.initialMaxStreamData;
  config.setInitialMaxData(opts.initialMaxData ?? DEFAULTS.initialMaxData);
  config.setInitialMaxStreamDataBidiLocal(streamWindow);
  config.setInitialMaxStreamDataBidiRemote(streamWindow);
  config.setInitialMaxStreamDataUni(streamWindow);
  config.setInitialMaxStreamsBidi(opts.initialMaxStreamsBidi ?? DEFAULTS.initialMaxStreamsBidi);
  config.setInitialMaxStreamsUni(opts.initialMaxStreamsUni ?? DEFAULTS.initialMaxStreamsUni);
  // No auto-tuning beyond the advertised windows (node:http2 does not grow them either).
  config.setMaxStreamWindow(streamWindow);
  config.setMaxConnectionWindow(opts.initialMaxData ?? DEFAULTS.initialMaxData);
  config.setDisableActiveMigration(opts.disableActiveMigration ?? false);
  config.setActiveConnectionIdLimit(opts.activeConnectionIdLimit ?? 4);
  config.grease(opts.grease ?? true);
  config.enablePacing(pacerOf(opts, role) === 'quiche');
  setCongestionControl(config, cc);
  if (opts.earlyData ?? true) config.enableEarlyData();
  // quiche writes secrets only when the TLS context was told to log keys (keylog.ts).
  if (keylogPath()) config.logKeys();
  if (role === 'server') config.setTicketKey(opts.ticketKey ?? randomBytes(48));
  return config;
}
