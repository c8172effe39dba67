/**
 * The one module that touches the quiche native binding (@infisical/quic, quiche 0.18; the
 * native API is identical to @matrixai/quic). Everything else in src/quic imports from here,
 * so swapping the package means editing this file alone.
 */
import { native } from '@infisical/quic';
import type {
  Config as NativeConfig,
  Connection as NativeConnection,
  ConnectionError as NativeConnectionError,
  Header as NativeHeader,
  Host,
  PathEvent as NativePathEvent,
  PathStats as NativePathStats,
  SendInfo,
  Stats as NativeStats,
} from '@infisical/quic/dist/native/types.js';
import koffi from 'koffi';
import { inspect } from 'node:util';

export type {
  NativeConfig,
  NativeConnection,
  NativeConnectionError,
  NativeHeader,
  NativePathEvent,
  NativePathStats,
  NativeStats,
  SendInfo,
};
export type HostPort = Host;

export const quiche = native.quiche;

/** Longest connection ID quiche accepts (20 bytes, RFC 9000 section 17.2). */
export const MAX_CONN_ID_LEN: number = quiche.MAX_CONN_ID_LEN;
export const PROTOCOL_VERSION: number = quiche.PROTOCOL_VERSION;
export const DEFAULT_UDP_PAYLOAD: number = quiche.MAX_DATAGRAM_SIZE;
/** Largest UDP payload quiche can be told to receive (and our receive buffers are sized to). */
export const MAX_UDP_PAYLOAD = 65527;

export const PacketType = quiche.Type;
export const Shutdown = quiche.Shutdown;

export type CongestionControl = 'cubic' | 'reno' | 'bbr';

export interface TlsMaterial {
  /** PEM certificate chain (leaf first). Server: required. Client: optional (client auth unused). */
  certPem?: string;
  keyPem?: string;
  /** PEM CA bundle to verify the peer against. */
  caPem?: string;
  verifyPeer: boolean;
}

/** TLS 1.3 signature algorithms BoringSSL accepts (the same list the package's own client uses). */
const SIGALGS = [
  'ecdsa_secp256r1_sha256',
  'ecdsa_secp384r1_sha384',
  'ecdsa_secp521r1_sha512',
  'ed25519',
  'rsa_pss_rsae_sha256',
  'rsa_pss_rsae_sha384',
  'rsa_pss_rsae_sha512',
  'rsa_pkcs1_sha256',
  'rsa_pkcs1_sha384',
  'rsa_pkcs1_sha512',
].join(':');

const encoder = new TextEncoder();

/** Splits a PEM bundle into its blocks (BoringSSL wants one buffer per certificate of a chain). */
export function splitPem(pem: string): string[] {
  return pem.match(/-----BEGIN [^-]+-----[\s\S]+?-----END [^-]+-----\n?/g) ?? [];
}

export function newNativeConfig(tls: TlsMaterial): NativeConfig {
  const certs = tls.certPem ? splitPem(tls.certPem).map((p) => encoder.encode(p)) : null;
  const keys = tls.keyPem ? [encoder.encode(tls.keyPem)] : null;
  // One key per certificate *chain*: the binding pairs key[i] with cert[i], so pass the whole
  // chain as one PEM buffer.
  const chain = certs && certs.length > 0 ? [encoder.encode(tls.certPem!)] : null;
  const ca = tls.caPem ? encoder.encode(tls.caPem) : null;
  return quiche.Config.withBoringSslCtx(tls.verifyPeer, false, ca, keys, chain, SIGALGS);
}

export function setCongestionControl(config: NativeConfig, cc: CongestionControl): void {
  config.setCcAlgorithm(
    cc === 'reno'
      ? quiche.CongestionControlAlgorithm.Reno
      : cc === 'bbr'
        ? quiche.CongestionControlAlgorithm.BBR
        : quiche.CongestionControlAlgorithm.CUBIC,
  );
}

export function connectNative(
  serverName: string | undefined,
  scid: Uint8Array,
  local: HostPort,
  peer: HostPort,
  config: NativeConfig,
): NativeConnection {
  return quiche.Connection.connect(serverName ?? null, scid, local, peer, config);
}

export function acceptNative(
  scid: Uint8Array,
  odcid: Uint8Array | undefined,
  local: HostPort,
  peer: HostPort,
  config: NativeConfig,
): NativeConnection {
  return quiche.Connection.accept(scid, odcid ?? null, local, peer, config);
}

export interface PacketHeader {
  type: number;
  version: number;
  dcid: Uint8Array;
  scid: Uint8Array;
  token?: Uint8Array;
}

/** Parses a QUIC packet header; undefined for anything that is not QUIC (garbage datagrams). */
export function parseHeader(datagram: Uint8Array, shortDcidLen: number): PacketHeader | undefined {
  try {
    const h = quiche.Header.fromSlice(datagram, shortDcidLen);
    return { type: h.ty, version: h.version, dcid: h.dcid, scid: h.scid, token: h.token ?? undefined };
  } catch {
    return undefined;
  }
}

export function versionIsSupported(version: number): boolean {
  return quiche.versionIsSupported(version);
}

/** Writes a Version Negotiation packet into out; returns its length. */
export function negotiateVersion(scid: Uint8Array, dcid: Uint8Array, out: Uint8Array): number {
  return quiche.negotiateVersion(scid, dcid, out);
}

/** Writes a Retry packet into out; returns its length. */
export function writeRetry(
  scid: Uint8Array,
  dcid: Uint8Array,
  newScid: Uint8Array,
  token: Uint8Array,
  version: number,
  out: Uint8Array,
): number {
  return quiche.retry(scid, dcid, newScid, token, version, out);
}

// ---------------------------------------------------------------------------------------------
// Pacing: SendInfo.at is an opaque napi External wrapping a Rust std::time::Instant
// (CLOCK_MONOTONIC on Linux, the clock process.hrtime reads). The binding offers no accessor,
// so we read the Instant through its address. The layout is checked once against the clock
// (calibrate()); if it does not match, release times are unknown and packets go out at once.
// ---------------------------------------------------------------------------------------------

const EXTERNAL_ADDRESS = /External: ([0-9a-f]+)/;
/** napi-rs stores External<T> as a box: { TypeId (16 bytes), Option<T> }. */
const INSTANT_OFFSET = 16;
const u64 = 'uint64_t';
const u32 = 'uint32_t';

function readInstantMs(at: unknown): number | undefined {
  const m = EXTERNAL_ADDRESS.exec(inspect(at));
  if (!m) return undefined;
  const wrapper = BigInt('0x' + m[1]);
  const boxed = koffi.decode(wrapper + 8n, u64) as bigint | number;
  const base = BigInt(boxed);
  const sec = koffi.decode(base + BigInt(INSTANT_OFFSET), u64) as bigint | number;
  const nsec = koffi.decode(base + BigInt(INSTANT_OFFSET + 8), u32) as number;
  if (nsec >= 1e9) return undefined;
  return Number(sec) * 1e3 + nsec / 1e6;
}

let pacingClock: 'unknown' | 'readable' | 'unreadable' = 'unknown';

/** Verifies once, on a throw-away connection, that release times can be read and match our clock. */
function calibrate(): boolean {
  if (process.env.BENCH_QUIC_PACING === 'off') return false;
  try {
    const cfg = quiche.Config.withBoringSslCtx(false, false, null, null, null, null);
    cfg.setApplicationProtos(['calibrate']);
    const scid = new Uint8Array(MAX_CONN_ID_LEN);
    const conn = quiche.Connection.connect(
      'localhost',
      scid,
      { host: '127.0.0.1', port: 1 },
      { host: '127.0.0.1', port: 2 },
      cfg,
    );
    const before = Number(process.hrtime.bigint()) / 1e6;
    const sent = conn.send(new Uint8Array(1500));
    const after = Number(process.hrtime.bigint()) / 1e6;
    if (!sent) return false;
    const at = readInstantMs(sent[1].at);
    return at !== undefined && at >= before - 50 && at <= after + 50;
  } catch {
    return false;
  }
}

/**
 * When quiche's pacer wants this packet on the wire, in monoMs() time; undefined when unknown
 * (then send at once). Cost: one inspect() and three small memory reads per packet.
 */
export function releaseTimeMs(info: SendInfo): number | undefined {
  if (pacingClock === 'unknown') pacingClock = calibrate() ? 'readable' : 'unreadable';
  if (pacingClock === 'unreadable') return undefined;
  return readInstantMs(info.at);
}

/** Whether quiche's per-packet release times are available (bench doctor / reports). */
export function pacingSupported(): boolean {
  if (pacingClock === 'unknown') pacingClock = calibrate() ? 'readable' : 'unreadable';
  return pacingClock === 'readable';
}

/** Parses quiche's stream error strings, e.g. "StreamReset(258)" / "StreamStopped(256)". */
export function streamErrorCode(e: unknown, kind: 'StreamReset' | 'StreamStopped'): number | undefined {
  const msg = e instanceof Error ? e.message : String(e);
  const m = new RegExp(`${kind}\\((\\d+)\\)`).exec(msg);
  return m ? Number(m[1]) : undefined;
}
