/**
 * What a move should cost each protocol on a loss-free link: the round trips between the move and
 * the first byte the server sends afterwards, as the migration workload records them beside its
 * measurement and the report judges them.
 */
import type { Protocol } from '../drivers/types.ts';

export const MIGRATION_MODES = ['handover', 'rebind', 'outage'] as const;
/**
 * handover: the path goes dark, another (with its own client address) takes over, and the client is
 * told; rebind: a NAT gives the client another address and port, unannounced; outage: the path goes
 * dark for a while and comes back (a tunnel).
 */
export type MigrationMode = (typeof MIGRATION_MODES)[number];

export interface ExpectedInterruption {
  /** Round trips of the path the traffic continues on, from the move to the first new response byte. */
  rtts: number;
  /** The same in ms: rtts x RTT, plus the outage for an outage. */
  ms: number;
  /**
   * An upper bound in ms the measurement should stay under on a loss-free link: one more round trip
   * and one request interval (the first new byte may be the answer to the next request), and after
   * an outage up to about one more outage (senders back off while the path is dark).
   */
  upToMs: number;
  /** What the round trips are, in words. */
  basis: string;
}

/**
 * Loss-free textbook figures. HTTP/3 migrates: until the server has validated the client's new
 * address it may send there only three times what it received from it (RFC 9000 sections 8 and
 * 9.3). A client told of a handover probes the new path itself, and its probe is padded to 1200
 * bytes, so the server answers with data at once: 1 RTT. After an unannounced rebinding the
 * client's next packets are small (an ACK, a request), so the server validates the address first
 * (PATH_CHALLENGE and PATH_RESPONSE): 2 RTT. HTTP/1.1 and HTTP/2 connect anew: TCP (1 RTT) + TLS 1.3
 * resumed (1 RTT) + the re-sent request (1 RTT) = 3 RTT when told; unannounced (rebind), the break
 * must be noticed first: their next packet from the new address meets a reset (1 RTT). A client
 * that only receives sends nothing to meet a reset: it notices at its silence timeout. An outage
 * moves nothing: traffic resumes after it, once the senders' backed-off retransmission timers fire.
 */
export function expectedInterruption(
  protocol: Protocol,
  mode: MigrationMode,
  link: {
    rttMs: number;
    outageMs?: number;
    requestIntervalMs: number;
    /**
     * rebind: how long the path's queue held packets at the move (the workload estimates it from
     * the small requests' first bytes just before). The server's first packets to the new address
     * wait behind them: the NAT misdirects what was queued, but it still takes its turn at the
     * bottleneck. A handover's new path and an outage's drained path have none.
     */
    queueMs?: number;
  },
): ExpectedInterruption {
  const { rttMs } = link;
  const queueMs = mode === 'rebind' ? Math.max(0, link.queueMs ?? 0) : 0;
  const behindQueue = queueMs > 0 ? `, behind the ${Math.round(queueMs)} ms the path's queue held at the move` : '';
  const of = (rtts: number, basis: string, extraMs = 0, backoffMs = 0): ExpectedInterruption => ({
    rtts,
    ms: rtts * rttMs + extraMs + queueMs,
    upToMs: (rtts + 1) * rttMs + extraMs + queueMs + backoffMs + link.requestIntervalMs,
    basis: basis + behindQueue,
  });
  if (mode === 'outage') {
    const outageMs = link.outageMs ?? 0;
    return of(1, `the outage (${Math.round(outageMs)} ms), then a retransmission and its answer; timers backed off meanwhile may add up to about the outage again`, outageMs, outageMs);
  }
  if (protocol === 'h3') {
    return mode === 'handover'
      ? of(1, 'the client probes the new path with a padded packet, which lets the server answer there at once')
      : of(2, "the next packet from the rebound address reaches the server, which validates it (1 RTT) before it may send more than three times the client's small packets");
  }
  return mode === 'handover'
    ? of(3, 'a new TCP connection (1 RTT), TLS 1.3 resumed with the ticket (1 RTT), the re-sent request (1 RTT)')
    : of(4, 'the break noticed by the reset the next packet meets (1 RTT), then a new TCP connection (1), TLS resumed (1) and the re-sent request (1)');
}
