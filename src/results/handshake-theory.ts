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
