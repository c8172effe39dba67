/**
 * The net log reader of `npm run perf -- chromium`: a hand-made log in Chromium's layout, with the
 * RTT estimate worked out by hand from RFC 9002 section 5.
 */
import { describe, expect, it } from 'vitest';
import { quicSessionFromNetLog } from './netlog.ts';

const TYPES = {
  QUIC_SESSION: 1,
  QUIC_SESSION_PACKET_SENT: 2,
  QUIC_SESSION_STREAM_FRAME_SENT: 3,
  QUIC_SESSION_ACK_FRAME_SENT: 4,
  QUIC_SESSION_ACK_FRAME_RECEIVED: 5,
  QUIC_SESSION_PACKET_LOST: 6,
  QUIC_SESSION_PACKET_RECEIVED: 7,
  QUIC_SESSION_STREAMS_BLOCKED_FRAME_SENT: 8,
};
const ORIGIN = { host: 'localhost', port: 9443 };
const MEASURED = 10;
const OTHER_ORIGIN = 11;

function event(source: number, type: keyof typeof TYPES, timeMs: number, params?: Record<string, unknown>, phase = 0) {
  return { type: TYPES[type], time: String(timeMs), phase, source: { id: source, type: 9 }, ...(params && { params }) };
}
const sent = (pn: number, ms: number) =>
  event(MEASURED, 'QUIC_SESSION_PACKET_SENT', Math.floor(ms), { packet_number: pn, sent_time_us: ms * 1000, encryption_level: 'ENCRYPTION_FORWARD_SECURE' });
const ack = (largest: number, ms: number, ackDelayMs: number) =>
  event(MEASURED, 'QUIC_SESSION_ACK_FRAME_RECEIVED', ms, { largest_observed: largest, delta_time_largest_observed_us: ackDelayMs * 1000 });

const EVENTS = [
  event(MEASURED, 'QUIC_SESSION', 1000, { host: 'localhost', port: 9443 }, 1),
  event(OTHER_ORIGIN, 'QUIC_SESSION', 1000, { host: 'localhost', port: 8443 }, 1),
  event(MEASURED, 'QUIC_SESSION_STREAM_FRAME_SENT', 1000, { stream_id: 0 }),
  event(MEASURED, 'QUIC_SESSION_STREAM_FRAME_SENT', 1000, { stream_id: 2 }), // the control stream: not a request
  sent(1, 1000),
  event(MEASURED, 'QUIC_SESSION_ACK_FRAME_SENT', 1010),
  sent(2, 1010), // ACK only: never an RTT sample
  event(MEASURED, 'QUIC_SESSION_STREAMS_BLOCKED_FRAME_SENT', 1020, { stream_count: 1 }),
  event(MEASURED, 'QUIC_SESSION_STREAM_FRAME_SENT', 1020, { stream_id: 4 }),
  sent(3, 1020),
  event(MEASURED, 'QUIC_SESSION_PACKET_RECEIVED', 1100),
  ack(1, 1100, 0), // sample 100: min 100, srtt 100
  ack(2, 1140, 0), // largest is ACK-only: no sample
  ack(3, 1150, 10), // latest 130, minus 10 ms ACK delay = 120: srtt 7/8 * 100 + 1/8 * 120 = 102.5
  ack(3, 1160, 0), // not newly acknowledged: ignored
  event(MEASURED, 'QUIC_SESSION_PACKET_LOST', 1170, { packet_number: 2 }),
  event(OTHER_ORIGIN, 'QUIC_SESSION_PACKET_LOST', 1170, { packet_number: 5 }),
  event(MEASURED, 'QUIC_SESSION_STREAM_FRAME_SENT', 1200, { stream_id: 0 }), // the rest of request 0's body
  sent(4, 1200),
  ack(4, 1290, 20), // latest 90: min 90; 90 - 20 < min, so the ACK delay is not subtracted: srtt 7/8 * 102.5 + 1/8 * 90 = 100.9375
];

/** Chromium writes the constants, then one event per line, each followed by ",\n", and closes the array at exit. */
function netLogText(events: unknown[], complete: boolean): string {
  const head = `{"constants": ${JSON.stringify({ logEventTypes: TYPES, logEventPhase: { PHASE_NONE: 0, PHASE_BEGIN: 1, PHASE_END: 2 } })},\n"events": [\n`;
  const body = events.map((e) => `${JSON.stringify(e)},\n`).join('');
  return complete ? `${head}${body.slice(0, -2)}],\n"polledData": {}}\n` : `${head}${body}{"type": 2, "time": "13`;
}

describe('quicSessionFromNetLog', () => {
  it('counts the origin\'s session only, re-derives its RTT estimate as RFC 9002 does, and times its request streams', () => {
    const s = quicSessionFromNetLog(netLogText(EVENTS, true), ORIGIN);
    expect(s).toEqual({ sessions: 1, sentPackets: 4, receivedPackets: 1, lostPackets: 1, lostByLevel: { ENCRYPTION_FORWARD_SECURE: 1 }, streamsBlocked: 1, rttSamples: 3, minRttMs: 90, srttMs: 100.9375, requestStreamsSentMs: [1000, 1020] });
  });

  it('reads a log cut off mid-event (a browser that did not exit cleanly) up to its last whole event', () => {
    const s = quicSessionFromNetLog(netLogText(EVENTS, false), ORIGIN);
    expect(s.srttMs).toBe(100.9375);
    expect(s.lostPackets).toBe(1);
  });

  it('finds no session for another origin', () => {
    expect(quicSessionFromNetLog(netLogText(EVENTS, true), { host: 'localhost', port: 1 })).toMatchObject({ sessions: 0, sentPackets: 0, rttSamples: 0 });
  });
});
