/**
 * One QUIC session's figures from a Chromium net log (--log-net-log, --net-log-capture-mode=Everything).
 *
 * Chromium 156's net log has no event carrying the session's RTT estimate. What it has, per
 * session (events of the QUIC_SESSION source):
 *   QUIC_SESSION_PACKET_SENT          packet_number, sent_time_us, encryption_level (one number space for all levels)
 *   QUIC_SESSION_*_FRAME_SENT         the frames of the packet sent next (ACK and PADDING alone do not elicit an ACK);
 *                                     STREAM frames name their stream (a request's: client-initiated bidirectional, id % 4 = 0)
 *   QUIC_SESSION_ACK_FRAME_RECEIVED   largest_observed, delta_time_largest_observed_us (the peer's ACK delay)
 *   QUIC_SESSION_PACKET_LOST          a packet Chromium declared lost
 *   QUIC_SESSION_PACKET_RECEIVED      a datagram received
 *   QUIC_SESSION_STREAMS_BLOCKED_FRAME_SENT  a new request had to wait for the server's MAX_STREAMS
 * From these, the RTT estimate is re-derived as RFC 9002 section 5 does (Chromium's RttStats does the same):
 * a sample when an ACK newly acknowledges an ack-eliciting packet as its largest, minus the ACK delay
 * unless that would go below the minimum, smoothed 7/8 + 1/8. Event times are whole milliseconds, so
 * each sample is within 1 ms.
 */

export interface NetLogQuicSession {
  /** QUIC sessions to the origin in the log (1 when a load used one connection). */
  sessions: number;
  sentPackets: number;
  receivedPackets: number;
  /** Packets Chromium sent and then declared lost. */
  lostPackets: number;
  /** The same by the packet's encryption level (ENCRYPTION_INITIAL ...: a handshake packet, not data). */
  lostByLevel: Record<string, number>;
  /** STREAMS_BLOCKED frames Chromium sent: requests that waited for the server's stream limit. */
  streamsBlocked: number;
  rttSamples: number;
  srttMs?: number;
  minRttMs?: number;
  /** Per request stream (client-initiated bidirectional) of the first session, in order: when its first STREAM frame left (ms). */
  requestStreamsSentMs: number[];
}

interface NetLogEvent {
  type: number;
  time: string;
  phase?: number;
  source: { id: number; type: number };
  params?: Record<string, unknown>;
}

interface NetLog {
  constants: { logEventTypes: Record<string, number>; logEventPhase?: Record<string, number> };
  events: NetLogEvent[];
}

/** A log whose browser was killed ends mid-array: cut at the last whole event and close it. */
export function parseNetLog(text: string): NetLog {
  try {
    return JSON.parse(text) as NetLog;
  } catch {
    const lastEvent = text.lastIndexOf('},\n');
    if (lastEvent < 0) throw new Error('the net log holds no complete event');
    return JSON.parse(`${text.slice(0, lastEvent + 1)}]}`) as NetLog;
  }
}

const NOT_ACK_ELICITING = new Set(['QUIC_SESSION_ACK_FRAME_SENT', 'QUIC_SESSION_PADDING_FRAME_SENT', 'QUIC_SESSION_COALESCED_PACKET_SENT']);

export function quicSessionFromNetLog(text: string, origin: { host: string; port: number }): NetLogQuicSession {
  const log = parseNetLog(text);
  const nameOf = new Map(Object.entries(log.constants.logEventTypes).map(([name, id]) => [id, name]));
  const beginPhase = log.constants.logEventPhase?.PHASE_BEGIN ?? 1;
  const sessionIds = new Set(
    log.events
      .filter((e) => nameOf.get(e.type) === 'QUIC_SESSION' && e.phase === beginPhase && e.params?.host === origin.host && e.params?.port === origin.port)
      .map((e) => e.source.id),
  );
  const out: NetLogQuicSession = { sessions: sessionIds.size, sentPackets: 0, receivedPackets: 0, lostPackets: 0, lostByLevel: {}, streamsBlocked: 0, rttSamples: 0, requestStreamsSentMs: [] };
  const requestStreams = new Set<number>();
  // RTT state per session; the figures reported are the first session's (one per load).
  const firstSession = [...sessionIds][0];
  const sent = new Map<number, { sentUs: number; ackEliciting: boolean }>();
  const levelOf = new Map<string, string>();
  let framesPending = false;
  let largestAcked = -1;
  for (const e of log.events) {
    if (!sessionIds.has(e.source.id)) continue;
    const name = nameOf.get(e.type) ?? '';
    const p = e.params ?? {};
    if (name === 'QUIC_SESSION_PACKET_SENT') {
      out.sentPackets++;
      if (e.source.id === firstSession) sent.set(Number(p.packet_number), { sentUs: Number(p.sent_time_us), ackEliciting: framesPending });
      levelOf.set(`${e.source.id}:${p.packet_number}`, String(p.encryption_level ?? 'unknown'));
      framesPending = false;
    } else if (name.endsWith('_FRAME_SENT') && !NOT_ACK_ELICITING.has(name)) {
      framesPending = true;
      if (name === 'QUIC_SESSION_STREAMS_BLOCKED_FRAME_SENT') out.streamsBlocked++;
      const stream = Number(p.stream_id);
      if (name === 'QUIC_SESSION_STREAM_FRAME_SENT' && e.source.id === firstSession && stream % 4 === 0 && !requestStreams.has(stream)) {
        requestStreams.add(stream);
        out.requestStreamsSentMs.push(Number(e.time));
      }
    } else if (name === 'QUIC_SESSION_PACKET_RECEIVED') {
      out.receivedPackets++;
    } else if (name === 'QUIC_SESSION_PACKET_LOST') {
      out.lostPackets++;
      const level = levelOf.get(`${e.source.id}:${p.packet_number}`) ?? 'unknown';
      out.lostByLevel[level] = (out.lostByLevel[level] ?? 0) + 1;
    } else if (name === 'QUIC_SESSION_ACK_FRAME_RECEIVED' && e.source.id === firstSession) {
      const largest = Number(p.largest_observed);
      if (largest <= largestAcked) continue;
      largestAcked = largest;
      const packet = sent.get(largest);
      if (!packet?.ackEliciting) continue;
      const latestMs = Number(e.time) - packet.sentUs / 1000;
      const ackDelayMs = Number(p.delta_time_largest_observed_us ?? 0) / 1000;
      out.minRttMs = Math.min(out.minRttMs ?? Infinity, latestMs);
      const adjusted = latestMs - ackDelayMs >= out.minRttMs ? latestMs - ackDelayMs : latestMs;
      out.srttMs = out.srttMs === undefined ? adjusted : (7 / 8) * out.srttMs + (1 / 8) * adjusted;
      out.rttSamples++;
    }
  }
  return out;
}
