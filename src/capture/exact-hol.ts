/**
 * Head-of-line blocking, exactly, from what the link delivered: per HTTP/3 request stream (from
 * the decrypted STREAM frames) or per TCP connection (from sequence numbers: bytes above a hole hold
 * every HTTP/2 stream), the intervals in which the receiver held bytes above a hole, each traced to
 * the dropped packet that carried the hole's first byte; then joined with the multiplex workload's
 * loss events. Pure.
 */
import { readVarintAt, varintSizeFromFirstByte } from '../h3/varint.ts';
import { FRAME_DATA } from '../h3/frames.ts';
import type { ExactHol, ExactHolLossEvent } from '../results/details.ts';
import type { KeylogSecrets } from '../util/keylog.ts';
import type { LinkPacket } from './link-packets.ts';
import { decryptQuicConnections, type QuicConnection } from './quic-connections.ts';
import { blockedIntervals, type BlockedInterval, type Delivery } from './reassembly.ts';

/** A blocked interval of one stream (QUIC) or one connection's byte stream (TCP). */
export interface Block extends BlockedInterval {
  /** The connection's client port. */
  port: number;
  /** The QUIC stream id; absent for a TCP connection. */
  stream?: number;
  /** Capture time of the first drop of a packet that carried the hole's first byte; absent when none did (reordering). */
  causeUs?: number;
}

/** A dropped packet of the server's, and the request streams whose bytes it carried (QUIC). */
export interface LostPacket {
  timeUs: number;
  port: number;
  streams?: number[];
}

export interface StreamTotal {
  port: number;
  stream: number;
  /** Bytes delivered in order from offset 0 (all of them once the stream is complete). */
  contiguousBytes: number;
  /** The stream's final size, when its FIN arrived. */
  finalSize?: number;
  /** HTTP/3 DATA frame payload bytes in the reassembled stream: the response body as sent. */
  bodyBytes?: number;
}

/** An HTTP/3 request stream: client-initiated and bidirectional (RFC 9000 section 2.1). */
export const isRequestStream = (id: number) => id % 4 === 0;

/** Body bytes of the HTTP/3 frames in a complete request stream (DATA payloads); undefined if the frames do not add up. */
export function http3BodyBytes(stream: Buffer): number | undefined {
  let at = 0;
  let body = 0;
  while (at < stream.length) {
    const typeSize = varintSizeFromFirstByte(stream[at]!);
    if (at + typeSize >= stream.length) return undefined;
    const type = readVarintAt(stream, at);
    const lengthSize = varintSizeFromFirstByte(stream[at + typeSize]!);
    if (at + typeSize + lengthSize > stream.length) return undefined;
    const length = readVarintAt(stream, at + typeSize);
    at += typeSize + lengthSize + length;
    if (type === FRAME_DATA) body += length;
  }
  return at === stream.length ? body : undefined;
}

/** A dropped packet's ranges of one stream (QUIC) or of the connection's bytes (TCP). */
type DroppedRanges = Delivery;

/** The first drop of a packet that carried `offset` of the stream, before `beforeUs`. */
function firstDropCarrying(drops: readonly DroppedRanges[], offset: number, beforeUs: number): number | undefined {
  for (const d of drops) {
    if (d.timeUs > beforeUs) break;
    if (d.ranges.some((r) => r.offset <= offset && offset < r.offset + r.length)) return d.timeUs;
  }
  return undefined;
}

interface StreamPackets {
  delivered: Delivery[];
  dropped: Array<{ timeUs: number; ranges: Array<{ offset: number; length: number }> }>;
  chunks: Array<{ offset: number; data: Buffer }>;
  finalSize?: number;
}

/** Per request stream of a decrypted QUIC connection: its blocked intervals and byte totals. */
export function quicStreamBlocks(connection: QuicConnection): { blocks: Block[]; totals: StreamTotal[]; lost: LostPacket[] } {
  const port = connection.client.port;
  const streams = new Map<number, StreamPackets>();
  const lost: LostPacket[] = [];
  const of = (id: number) => {
    let s = streams.get(id);
    if (!s) streams.set(id, (s = { delivered: [], dropped: [], chunks: [] }));
    return s;
  };
  for (const p of connection.packets) {
    if (p.dir !== 'down') continue;
    const frames = p.streams.filter((f) => isRequestStream(f.streamId));
    if (p.stage === 'received' && p.drops > 0) lost.push({ timeUs: p.timeUs, port, streams: [...new Set(frames.map((f) => f.streamId))] });
    const byStream = new Map<number, Array<{ offset: number; length: number }>>();
    for (const f of frames) {
      const s = of(f.streamId);
      if (p.stage === 'received') {
        if (p.drops > 0) {
          const last = s.dropped[s.dropped.length - 1];
          if (last?.timeUs === p.timeUs) last.ranges.push({ offset: f.offset, length: f.length });
          else s.dropped.push({ timeUs: p.timeUs, ranges: [{ offset: f.offset, length: f.length }] });
        }
        continue;
      }
      byStream.set(f.streamId, [...(byStream.get(f.streamId) ?? []), { offset: f.offset, length: f.length }]);
      s.chunks.push({ offset: f.offset, data: f.data });
      if (f.fin) s.finalSize = f.offset + f.length;
    }
    for (const [id, ranges] of byStream) of(id).delivered.push({ timeUs: p.timeUs, ranges });
  }
  const blocks: Block[] = [];
  const totals: StreamTotal[] = [];
  for (const [stream, s] of [...streams].sort((a, b) => a[0] - b[0])) {
    const { intervals, head } = blockedIntervals(s.delivered);
    for (const i of intervals) blocks.push({ ...i, port, stream, causeUs: firstDropCarrying(s.dropped, i.holeAt, i.fromUs) });
    const total: StreamTotal = { port, stream, contiguousBytes: head, ...(s.finalSize !== undefined && { finalSize: s.finalSize }) };
    if (s.finalSize !== undefined && head === s.finalSize) {
      const bytes = Buffer.alloc(s.finalSize);
      for (const c of s.chunks) c.data.copy(bytes, c.offset);
      const body = http3BodyBytes(bytes);
      if (body !== undefined) total.bodyBytes = body;
    }
    totals.push(total);
  }
  return { blocks, totals, lost };
}

/**
 * Per TCP connection (its client port), the blocked intervals of the server's byte stream, from
 * the sequence numbers of the segments the link delivered (relative to the server's SYN).
 */
export function tcpConnectionBlocks(packets: readonly LinkPacket[]): { blocks: Block[]; lost: LostPacket[]; connections: number } {
  const flows = new Map<string, { port: number; isn: number; delivered: Delivery[]; dropped: DroppedRanges[] }>();
  // Only the server's direction is followed: a flow is keyed by its sender and receiver.
  const key = (p: LinkPacket) => `${p.path}|${p.src}:${p.srcPort}|${p.dst}:${p.dstPort}`;
  const lost: LostPacket[] = [];
  for (const p of packets) {
    if (p.proto !== 'tcp' || !p.tcp) continue;
    const { syn, ack } = p.tcp.flags;
    // The server's SYN (a SYN-ACK) fixes its initial sequence number: its first data byte is offset 0.
    if (syn && ack && !flows.has(key(p))) flows.set(key(p), { port: p.dstPort, isn: p.tcp.seq, delivered: [], dropped: [] });
    const flow = flows.get(key(p));
    if (!flow || p.payload.length === 0) continue;
    const range = { offset: (p.tcp.seq - flow.isn - 1) >>> 0, length: p.payload.length };
    if (p.stage === 'delivered') flow.delivered.push({ timeUs: p.timeUs, ranges: [range] });
    else if (p.drops > 0) {
      flow.dropped.push({ timeUs: p.timeUs, ranges: [range] });
      lost.push({ timeUs: p.timeUs, port: flow.port });
    }
  }
  const blocks: Block[] = [];
  for (const flow of flows.values()) {
    for (const i of blockedIntervals(flow.delivered).intervals) blocks.push({ ...i, port: flow.port, causeUs: firstDropCarrying(flow.dropped, i.holeAt, i.fromUs) });
  }
  return { blocks, lost, connections: flows.size };
}

/**
 * The blocks traced to each loss event. `toCaptureUs` maps the workload's clock (monoMs) to the
 * capture's; an event takes the drops of its direction in [t, t + 1 ms), as the workload merges them.
 */
export function exactPerLossEvent(
  events: ReadonlyArray<{ t: number; dir: 'up' | 'down' }>,
  found: { blocks: readonly Block[]; lost: readonly LostPacket[] },
  toCaptureUs: (monoMs: number) => number,
  captureEndUs: number,
): ExactHolLossEvent[] {
  return events.map((e) => {
    const from = toCaptureUs(e.t);
    // The server's packets are lost on the way down; an event up the link (the client's packets) makes no hole in a response.
    const inEvent = (us: number | undefined) => e.dir === 'down' && us !== undefined && us >= from - 1 && us < from + 1000;
    const blocks = found.blocks.filter((b) => inEvent(b.causeUs));
    const lostStreams = found.lost.filter((l) => inEvent(l.timeUs)).flatMap((l) => l.streams ?? []);
    const quic = found.lost.some((l) => l.streams !== undefined);
    return {
      ...(quic && { hit: new Set(lostStreams).size }),
      blocked: blocks.length,
      blockedMs: blocks.map((b) => ((b.toUs ?? captureEndUs) - b.fromUs) / 1000),
      peakHeldBytes: blocks.map((b) => b.peakHeldBytes),
      blockedFromMs: blocks.map((b) => (b.fromUs - from) / 1000),
      ...(quic && { requests: blocks.map((b) => b.stream! / 4) }),
    };
  });
}

/**
 * The offset from the workload's clock (monoMs) to the capture's (epoch microseconds), from the
 * drops both recorded: the link marks a dropped packet in the capture at the instant it logs the
 * drop, so every pair differs by the same offset (to the microsecond the capture rounds to). Pairs
 * near each other in order vote; undefined when no offset explains nearly all of the drops.
 */
export function captureClockOffsetUs(dropEventTimesMs: readonly number[], capturedDropTimesUs: readonly number[]): number | undefined {
  if (dropEventTimesMs.length === 0 || capturedDropTimesUs.length === 0) return undefined;
  const events = [...dropEventTimesMs].sort((x, y) => x - y);
  const captured = [...capturedDropTimesUs].sort((x, y) => x - y);
  const votes = new Map<number, number>();
  captured.forEach((c, i) => {
    for (let j = Math.max(0, i - 2); j <= Math.min(events.length - 1, i + 2); j++) {
      const offset = Math.round(c - events[j]! * 1000);
      votes.set(offset, (votes.get(offset) ?? 0) + 1);
    }
  });
  const [offset] = [...votes].sort((a, b) => b[1] - a[1])[0]!;
  // Matches within 2 us (rounding on both sides) of that offset: nearly every drop of the smaller list.
  const matched = captured.filter((c) => events.some((t) => Math.abs(c - t * 1000 - offset) <= 2)).length;
  return matched >= 0.9 * Math.min(events.length, captured.length) ? offset : undefined;
}

export interface CellCaptureInput {
  protocol: string;
  packets: readonly LinkPacket[];
  /** The run's key log, parsed; undefined when there is none. */
  keylog?: ReadonlyMap<string, KeylogSecrets>;
  /** The link's drop log for the cell's capture window (monoMs): pairs the two clocks. */
  dropTimesMs: readonly number[];
  lossEventAt: ReadonlyArray<{ t: number; dir: 'up' | 'down' }>;
}

/** A multiplex cell's exact head-of-line figures from its capture, or why there are none. */
export function exactHolFromCapture(input: CellCaptureInput): ExactHol | { unavailable: string } {
  const capturedDrops = input.packets.filter((p) => p.stage === 'received').flatMap((p) => Array<number>(p.drops).fill(p.timeUs));
  const offsetUs = captureClockOffsetUs(input.dropTimesMs, capturedDrops);
  if (offsetUs === undefined && input.lossEventAt.length > 0) {
    return { unavailable: `the capture's ${capturedDrops.length} marked drops and the drop log's ${input.dropTimesMs.length} cannot be paired in time` };
  }
  const toCaptureUs = (t: number) => t * 1000 + (offsetUs ?? 0);
  const endUs = input.packets.reduce((max, p) => Math.max(max, p.timeUs), 0);
  const summary = (found: { blocks: readonly Block[]; lost: readonly LostPacket[] }) => {
    const perLoss = exactPerLossEvent(input.lossEventAt, found, toCaptureUs, endUs);
    const unexplained = found.blocks.filter((b) => b.causeUs === undefined).length;
    const inEvents = perLoss.reduce((sum, e) => sum + e.blocked, 0);
    return { perLoss, blockedIntervals: found.blocks.length, unexplained, outsideLossEvents: found.blocks.length - unexplained - inEvents };
  };
  if (input.protocol === 'h2') {
    return { source: 'TCP sequence numbers in the capture', scope: 'connection', ...summary(tcpConnectionBlocks(input.packets)) };
  }
  if (input.protocol !== 'h3') return { unavailable: 'HTTP/1.1 carries one response per connection at a time: no stream waits behind another\'s hole' };
  if (!input.keylog) return { unavailable: 'the run has no TLS key log to decrypt its capture with' };
  const connections = decryptQuicConnections(input.packets, input.keylog);
  const opened = connections.filter((c) => !c.unavailable);
  if (opened.length === 0) return { unavailable: connections[0]?.unavailable ? `its QUIC connection could not be decrypted: ${connections[0].unavailable}` : 'the capture holds no QUIC connection' };
  const perConnection = opened.map((c) => quicStreamBlocks(c));
  const found = { blocks: perConnection.flatMap((c) => c.blocks), lost: perConnection.flatMap((c) => c.lost) };
  return {
    source: 'decrypted capture',
    scope: 'stream',
    ...summary(found),
    check: {
      connections: connections.length,
      packetsOpened: connections.reduce((sum, c) => sum + c.packets.length, 0),
      packetsNotOpened: connections.reduce((sum, c) => sum + c.unopened, 0) + connections.filter((c) => c.unavailable).length,
      cipherSuites: [...new Set(opened.map((c) => c.cipherSuite!))],
      streamBodyBytes: perConnection.map((c) => c.totals.filter((t) => isRequestStream(t.stream)).map((t) => t.bodyBytes ?? null)),
    },
  };
}
