/** Reassembly, blocked intervals traced to drops, and the join with loss events, on packets made by hand. */
import { describe, expect, it } from 'vitest';
import { captureClockOffsetUs, exactHolFromCapture, exactPerLossEvent, http3BodyBytes, quicStreamBlocks, tcpConnectionBlocks } from '../../src/capture/exact-hol.ts';
import type { LinkPacket } from '../../src/capture/link-packets.ts';
import type { QuicConnection, QuicPacketRecord } from '../../src/capture/quic-connections.ts';
import { blockedIntervals, Reassembly } from '../../src/capture/reassembly.ts';

describe('Reassembly', () => {
  it('advances the head over contiguous bytes and holds the rest', () => {
    const r = new Reassembly();
    r.add(100, 50);
    expect([r.head, r.heldBytes]).toEqual([0, 50]);
    r.add(200, 10);
    r.add(140, 70); // overlaps both ranges above
    expect([r.head, r.heldBytes]).toEqual([0, 110]);
    r.add(0, 100);
    expect([r.head, r.heldBytes]).toEqual([210, 0]);
    r.add(0, 210); // a duplicate changes nothing
    expect([r.head, r.heldBytes]).toEqual([210, 0]);
  });

  it('a stream is blocked from the first byte held above a hole to the retransmission that fills it', () => {
    const at = (timeUs: number, offset: number, length: number) => ({ timeUs, ranges: [{ offset, length }] });
    const { intervals, head } = blockedIntervals([at(1, 0, 100), at(2, 200, 100), at(3, 300, 100), at(4, 100, 100), at(5, 400, 10)]);
    expect(intervals).toEqual([{ fromUs: 2, toUs: 4, holeAt: 100, peakHeldBytes: 200 }]);
    expect(head).toBe(410);
    // Never filled: the interval stays open.
    expect(blockedIntervals([at(1, 50, 10)]).intervals).toEqual([{ fromUs: 1, holeAt: 0, peakHeldBytes: 10 }]);
  });
});

const h3Stream = (body: number) => Buffer.concat([Buffer.from([0x01, 0x02, 0xaa, 0xbb]), Buffer.from([0x00, 0x40 | (body >> 8), body & 0xff]), Buffer.alloc(body, 7)]);

describe('HTTP/3 body bytes', () => {
  it('sums DATA frame payloads and refuses frames that do not add up', () => {
    expect(http3BodyBytes(h3Stream(1000))).toBe(1000);
    expect(http3BodyBytes(h3Stream(1000).subarray(0, 500))).toBeUndefined();
  });
});

/** A QUIC connection on client port 5000 whose request stream 0 lost its second packet (at 5 us) and stream 4 nothing. */
function quicConnection(): QuicConnection {
  const s0 = h3Stream(2993); // 3000 bytes on the stream
  const s4 = h3Stream(993); // 1000
  const frame = (streamId: number, data: Buffer, offset: number, length: number) => ({
    kind: 'stream' as const, streamId, offset, length, fin: offset + length === data.length, data: data.subarray(offset, offset + length),
  });
  const packet = (timeUs: number, stage: 'received' | 'delivered', streams: ReturnType<typeof frame>[], drops = 0): QuicPacketRecord => ({
    frame: 0, timeUs, stage, drops, dir: 'down', packetNumber: timeUs, streams, acks: [],
  });
  const parts = [
    [1, frame(0, s0, 0, 1000)],
    [5, frame(0, s0, 1000, 1000)],
    [6, frame(4, s4, 0, 1000)],
    [10, frame(0, s0, 2000, 1000)],
    [20, frame(0, s0, 1000, 1000)], // the retransmission
  ] as const;
  const packets = parts.flatMap(([t, f]) => (t === 5 ? [packet(t, 'received', [f], 1)] : [packet(t, 'received', [f]), packet(t + 50, 'delivered', [f])]));
  return { path: 'primary', client: { address: '10.0.0.2', port: 5000 }, server: { address: '10.0.0.1', port: 443 }, packets, unopened: 0 };
}

describe('QUIC streams', () => {
  it('traces the blocked interval of the stream whose data was lost to the drop; totals match the bodies', () => {
    const { blocks, totals, lost } = quicStreamBlocks(quicConnection());
    expect(blocks).toEqual([{ port: 5000, stream: 0, fromUs: 60, toUs: 70, holeAt: 1000, peakHeldBytes: 1000, causeUs: 5 }]);
    expect(totals.map((t) => [t.stream, t.contiguousBytes, t.finalSize, t.bodyBytes])).toEqual([[0, 3000, 3000, 2993], [4, 1000, 1000, 993]]);
    expect(lost).toEqual([{ timeUs: 5, port: 5000, streams: [0] }]);
  });

  it('joins blocks with loss events: the event whose drops made the hole; an up event makes none', () => {
    const found = quicStreamBlocks(quicConnection());
    const events = exactPerLossEvent([{ t: 0.005, dir: 'down' }, { t: 0.008, dir: 'up' }], found, (t) => t * 1000, 100);
    expect(events).toEqual([
      { hit: 1, blocked: 1, blockedMs: [0.01], peakHeldBytes: [1000], blockedFromMs: [0.055], requests: [0] },
      { hit: 0, blocked: 0, blockedMs: [], peakHeldBytes: [], blockedFromMs: [], requests: [] },
    ]);
  });
});

describe('TCP connections', () => {
  const tcp = (timeUs: number, stage: LinkPacket['stage'], seq: number, length: number, opts: { drops?: number; syn?: boolean } = {}): LinkPacket => ({
    proto: 'tcp', src: '10.0.0.1', dst: '10.0.0.2', srcPort: 443, dstPort: 6000, payload: Buffer.alloc(length), frame: 0, path: 'primary', timeUs, stage, drops: opts.drops ?? 0,
    tcp: { seq: seq >>> 0, flags: { syn: !!opts.syn, ack: true, fin: false, rst: false } },
  });

  it('reads offsets from the server SYN (across a sequence wrap) and traces a hole to its dropped segment', () => {
    const isn = 2 ** 32 - 1500;
    const packets = [
      tcp(0, 'received', isn, 0, { syn: true }),
      tcp(1, 'delivered', isn + 1, 1000),
      tcp(2, 'received', isn + 1001, 1000, { drops: 1 }),
      tcp(3, 'delivered', isn + 2001, 1000),
      tcp(4, 'delivered', isn + 3001, 1000),
      tcp(9, 'delivered', isn + 1001, 1000),
    ];
    const { blocks, lost, connections } = tcpConnectionBlocks(packets);
    expect(connections).toBe(1);
    expect(blocks).toEqual([{ port: 6000, fromUs: 3, toUs: 9, holeAt: 1000, peakHeldBytes: 2000, causeUs: 2 }]);
    expect(lost).toEqual([{ timeUs: 2, port: 6000 }]);
  });
});

describe('the two clocks', () => {
  it('pairs the drop log with the capture\'s marks, or says it cannot', () => {
    expect(captureClockOffsetUs([10, 20, 30.5], [1_000_010_000, 1_000_020_000, 1_000_030_500])).toBe(1_000_000_000);
    // One drop more on one side (at the edge of the capture window) does not shift the pairing.
    expect(captureClockOffsetUs([5, 10, 20, 30.5], [1_000_010_000, 1_000_020_001, 1_000_030_500])).toBe(1_000_000_000);
    expect(captureClockOffsetUs([10, 20, 30], [1, 2, 3_000])).toBeUndefined();
    expect(captureClockOffsetUs([], [1])).toBeUndefined();
  });

  it('a cell whose drops do not pair is unavailable, with the counts', () => {
    const result = exactHolFromCapture({ protocol: 'h3', packets: [], dropTimesMs: [1], lossEventAt: [{ t: 1, dir: 'down' }] });
    expect(result).toEqual({ unavailable: "the capture's 0 marked drops and the drop log's 1 cannot be paired in time" });
    expect(exactHolFromCapture({ protocol: 'h3', packets: [], dropTimesMs: [], lossEventAt: [] })).toEqual({ unavailable: 'the run has no TLS key log to decrypt its capture with' });
  });
});
