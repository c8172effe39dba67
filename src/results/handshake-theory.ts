/**
 * The textbook count of round trips for connection setup, per protocol and mode: what the
 * handshake workload records beside its measurements and what the report judges them against.
 */
import type { Protocol } from '../drivers/types.ts';

export const HANDSHAKE_MODES = ['cold', 'resumed', '0rtt'] as const;
export type HandshakeMode = (typeof HANDSHAKE_MODES)[number];
export const HANDSHAKE_PHASES = ['transportReady', 'tlsReady', 'sent', 'firstByte', 'done'] as const;
export type HandshakePhase = (typeof HANDSHAKE_PHASES)[number];

/**
 * When each phase should end on an ideal loss-free link, in base RTTs from the client's first
 * packet. TCP: SYN/SYN-ACK (1), TLS 1.3 ClientHello/ServerHello..Finished (2), request/response (3);
 * resumption saves the certificate, not a round trip. QUIC: transport and TLS together (1),
 * request/response (2). QUIC 0-RTT: the request leaves with the first flight (0), its answer after 1.
 */
export function expectedPhaseRtt(protocol: Protocol, mode: HandshakeMode): Record<HandshakePhase, number> | undefined {
  if (protocol === 'h3') {
    return mode === '0rtt'
      ? { sent: 0, transportReady: 1, tlsReady: 1, firstByte: 1, done: 1 }
      : { transportReady: 1, tlsReady: 1, sent: 1, firstByte: 2, done: 2 };
  }
  if (mode === '0rtt') return undefined;
  return { transportReady: 1, tlsReady: 2, sent: 2, firstByte: 3, done: 3 };
}

/**
 * RFC 9000 section 8.1: until the client's address is validated a server sends at most three times
 * the bytes it received; a client's first Initial is padded to 1200 bytes, so a first flight larger
 * than this waits for the client's next packets: one more round trip.
 */
export const QUIC_CLIENT_INITIAL_BYTES = 1200;
export const QUIC_AMPLIFICATION_LIMIT_BYTES = 3 * QUIC_CLIENT_INITIAL_BYTES;

/** TLS 1.3 Certificate message (RFC 8446 section 4.4.2): header 4, context 1, list length 3, per entry 3 + DER + 2 (no extensions). */
export function certificateMessageBytes(certificateDerBytes: readonly number[]): number {
  return 4 + 1 + 3 + certificateDerBytes.reduce((sum, der) => sum + 3 + der + 2, 0);
}

/** CertificateVerify's signature by the leaf's key: ECDSA P-256 DER about 72 bytes, RSA the modulus size. */
const SIGNATURE_BYTES: Record<string, number> = { 'ecdsa-p256': 72, 'rsa-2048': 256, 'rsa-4096': 512 };

/**
 * The other server handshake messages of a first flight (ServerHello with an X25519 share about 90,
 * EncryptedExtensions with ALPN and QUIC transport parameters about 120, Finished 36) and QUIC's
 * cost per 1200-byte packet (long header with two 20-byte connection IDs, CRYPTO frame, AEAD tag:
 * about 70). Checked on a loopback capture: an RSA 2048 chain with two intermediates (2,517 bytes
 * of certificates) is estimated at 3,260 bytes; its first flight on the wire was 3,330 bytes of UDP payload.
 */
const OTHER_HANDSHAKE_BYTES = 90 + 120 + 36;
const QUIC_PACKET_OVERHEAD_BYTES = 70;

/** About how many bytes a QUIC server's first flight takes with this chain (UDP payload). */
export function quicServerFirstFlightBytes(chain: { key: string; certificateBytes: readonly number[] }): number {
  const tls = certificateMessageBytes(chain.certificateBytes) + 8 + (SIGNATURE_BYTES[chain.key] ?? 256) + OTHER_HANDSHAKE_BYTES;
  return tls + Math.ceil(tls / QUIC_CLIENT_INITIAL_BYTES) * QUIC_PACKET_OVERHEAD_BYTES;
}
