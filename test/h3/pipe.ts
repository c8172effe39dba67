/**
 * An in-memory QUIC stream layer between two HTTP/3 connections, with quiche's stream semantics:
 * streams open on first send, per-stream flow control windows, stream limits, RESET_STREAM and
 * STOP_SENDING (which makes the sender reset, as quiche does). Bytes move only when deliver()
 * is called, and reads can be capped to small sizes to split frames at arbitrary points.
 */
import { H3Connection, type H3ConnectionOptions, type H3Event } from '../../src/h3/connection.ts';
import { isBidi, StreamIOFailure, type QuicStreamIO } from '../../src/h3/transport.ts';

export interface PipeOptions {
  /** Per-stream receive window (bytes a sender may have unread at the peer). Default 1 MiB. */
  streamWindow?: number;
  /** Bidirectional streams each side lets the other open concurrently. Default 1000. */
  maxBidiStreams?: number;
  /** Unidirectional streams each side lets the other open. Default 100. */
  maxUniStreams?: number;
  /** Largest read streamRecv returns (split input anywhere). Default: unlimited. */
  maxRead?: number;
}

export type WireItem =
  | { streamId: number; kind: 'data'; bytes: Uint8Array; fin: boolean }
  | { streamId: number; kind: 'reset'; code: number }
  | { streamId: number; kind: 'stop'; code: number };

interface StreamState {
  // receive side
  recvChunks: Uint8Array[];
  recvBuffered: number;
  finReceived: boolean;
  finRead: boolean;
  resetCode: number | undefined;
  resetReported: boolean;
  readShutdown: boolean;
  // send side
  sendable: boolean;
  sent: number;
  /** Bytes the peer has read from us (flow-control credit returns as it reads). */
  peerRead: number;
  finSent: boolean;
  resetSent: boolean;
  stoppedCode: number | undefined;
  local: boolean;
}

export interface CloseRecord {
  app?: boolean;
  code?: number;
  reason?: string;
}

export class PipeEndpoint implements QuicStreamIO {
  peer!: PipeEndpoint;
  readonly streams = new Map<number, StreamState>();
  readonly outbox: WireItem[] = [];
  closed: CloseRecord | undefined;
  bytesSent = 0;
  private openedBidi = 0;
  private openedUni = 0;

  constructor(
    readonly isServer: boolean,
    readonly opts: Required<Omit<PipeOptions, 'maxRead'>> & { maxRead: number },
  ) {}

  private state(id: number, local: boolean): StreamState {
    let s = this.streams.get(id);
    if (!s) {
      s = {
        recvChunks: [],
        recvBuffered: 0,
        finReceived: false,
        finRead: false,
        resetCode: undefined,
        resetReported: false,
        readShutdown: false,
        sendable: local || isBidi(id),
        sent: 0,
        peerRead: 0,
        finSent: false,
        resetSent: false,
        stoppedCode: undefined,
        local,
      };
      this.streams.set(id, s);
    }
    return s;
  }

  private isLocal(id: number): boolean {
    return ((id & 1) === 1) === this.isServer;
  }

  streamSend(streamId: number, data: Uint8Array, fin: boolean): number {
    if (this.closed) throw new StreamIOFailure(streamId, 'other', undefined, 'connection closed');
    let s = this.streams.get(streamId);
    if (!s) {
      if (!this.isLocal(streamId)) throw new StreamIOFailure(streamId, 'other', undefined, 'InvalidStreamState');
      if (isBidi(streamId)) {
        if (this.peerStreamsLeftBidi() <= 0) throw new StreamIOFailure(streamId, 'other', undefined, 'StreamLimit');
        this.openedBidi++;
      } else {
        if (this.peerStreamsLeftUni() <= 0) throw new StreamIOFailure(streamId, 'other', undefined, 'StreamLimit');
        this.openedUni++;
      }
      s = this.state(streamId, true);
    }
    if (!s.sendable) throw new StreamIOFailure(streamId, 'other', undefined, 'InvalidStreamState');
    if (s.stoppedCode !== undefined) throw new StreamIOFailure(streamId, 'stopped', s.stoppedCode);
    if (s.finSent || s.resetSent) throw new StreamIOFailure(streamId, 'other', undefined, 'FinalSize');
    const n = Math.min(data.length, this.capacityOf(s));
    const takesFin = fin && n === data.length;
    if (n > 0 || takesFin) {
      this.outbox.push({ streamId, kind: 'data', bytes: data.slice(0, n), fin: takesFin });
      s.sent += n;
      this.bytesSent += n;
      if (takesFin) s.finSent = true;
    }
    return n;
  }

  private capacityOf(s: StreamState): number {
    return Math.max(0, this.opts.streamWindow - (s.sent - s.peerRead));
  }

  streamRecv(streamId: number, buf: Uint8Array): { length: number; fin: boolean } | undefined {
    const s = this.streams.get(streamId);
    if (!s || s.readShutdown) return undefined;
    if (s.resetCode !== undefined) {
      if (s.resetReported) return undefined;
      s.resetReported = true;
      throw new StreamIOFailure(streamId, 'reset', s.resetCode);
    }
    if (s.finRead) return undefined;
    const max = Math.min(buf.length, this.opts.maxRead);
    let n = 0;
    while (n < max && s.recvChunks.length > 0) {
      const chunk = s.recvChunks[0]!;
      const take = Math.min(max - n, chunk.length);
      buf.set(chunk.subarray(0, take), n);
      n += take;
      if (take === chunk.length) s.recvChunks.shift();
      else s.recvChunks[0] = chunk.subarray(take);
    }
    s.recvBuffered -= n;
    // Credit returns to the sender at once (MAX_STREAM_DATA without delay).
    const senderSide = this.peer.streams.get(streamId);
    if (senderSide) senderSide.peerRead += n;
    const fin = s.finReceived && s.recvBuffered === 0;
    if (fin) s.finRead = true;
    if (n === 0 && !fin) return undefined;
    return { length: n, fin };
  }

  streamShutdown(streamId: number, direction: 'read' | 'write', code: number): void {
    const s = this.streams.get(streamId) ?? this.state(streamId, this.isLocal(streamId));
    if (direction === 'read') {
      if (s.readShutdown || s.finRead) return;
      s.readShutdown = true;
      s.recvChunks = [];
      s.recvBuffered = 0;
      this.outbox.push({ streamId, kind: 'stop', code });
    } else {
      if (!s.sendable || s.finSent || s.resetSent) return;
      s.resetSent = true;
      this.outbox.push({ streamId, kind: 'reset', code });
    }
  }

  /** Priorities asked for, by stream (the pipe delivers in write order regardless). */
  readonly priorities = new Map<number, { urgency: number; incremental: boolean }>();

  streamPriority(streamId: number, urgency: number, incremental: boolean): boolean {
    if (!this.streams.has(streamId)) return false;
    this.priorities.set(streamId, { urgency, incremental });
    return true;
  }

  streamCapacity(streamId: number): number {
    const s = this.streams.get(streamId);
    if (!s) throw new StreamIOFailure(streamId, 'other', undefined, 'InvalidStreamState');
    if (s.stoppedCode !== undefined) throw new StreamIOFailure(streamId, 'stopped', s.stoppedCode);
    return this.capacityOf(s);
  }

  readableStreams(): number[] {
    const out: number[] = [];
    for (const [id, s] of this.streams) {
      if (s.readShutdown) continue;
      if ((s.resetCode !== undefined && !s.resetReported) || s.recvBuffered > 0 || (s.finReceived && !s.finRead && s.resetCode === undefined)) {
        out.push(id);
      }
    }
    return out;
  }

  /** Streams we opened whose both directions are over (their slot is given back, as MAX_STREAMS would). */
  private completedLocal(bidi: boolean): number {
    let n = 0;
    for (const [id, s] of this.streams) {
      if (!s.local || isBidi(id) !== bidi) continue;
      const sendDone = s.finSent || s.resetSent || s.stoppedCode !== undefined;
      const recvDone = !bidi || s.finRead || s.resetCode !== undefined || s.readShutdown;
      if (sendDone && recvDone) n++;
    }
    return n;
  }

  peerStreamsLeftBidi(): number {
    return this.opts.maxBidiStreams - this.openedBidi + this.completedLocal(true);
  }

  peerStreamsLeftUni(): number {
    return this.opts.maxUniStreams - this.openedUni + this.completedLocal(false);
  }

  close(opts: CloseRecord): void {
    if (!this.closed) this.closed = { ...opts };
  }

  /** Applies one item the peer sent. */
  receive(item: WireItem): void {
    const s = this.state(item.streamId, this.isLocal(item.streamId));
    switch (item.kind) {
      case 'data':
        if (s.readShutdown || s.resetCode !== undefined) return;
        if (item.bytes.length > 0) {
          s.recvChunks.push(item.bytes);
          s.recvBuffered += item.bytes.length;
        }
        if (item.fin) s.finReceived = true;
        return;
      case 'reset':
        if (s.finRead || s.readShutdown) return;
        s.resetCode = item.code;
        s.recvChunks = [];
        s.recvBuffered = 0;
        return;
      case 'stop':
        if (s.stoppedCode !== undefined) return;
        s.stoppedCode = item.code;
        // quiche answers STOP_SENDING with RESET_STREAM carrying the same code.
        if (!s.finSent && !s.resetSent) {
          s.resetSent = true;
          this.outbox.push({ streamId: item.streamId, kind: 'reset', code: item.code });
        }
        return;
    }
  }
}

export class Pipe {
  readonly client: PipeEndpoint;
  readonly server: PipeEndpoint;

  constructor(opts: PipeOptions = {}) {
    const full = {
      streamWindow: opts.streamWindow ?? 1 << 20,
      maxBidiStreams: opts.maxBidiStreams ?? 1000,
      maxUniStreams: opts.maxUniStreams ?? 100,
      maxRead: opts.maxRead ?? Infinity,
    };
    this.client = new PipeEndpoint(false, full);
    this.server = new PipeEndpoint(true, full);
    this.client.peer = this.server;
    this.server.peer = this.client;
  }

  /** Moves everything sent so far (or what `only` selects) to the other side; returns whether anything moved. */
  deliver(only?: (item: WireItem, from: PipeEndpoint) => boolean): boolean {
    let moved = false;
    for (const [from, to] of [
      [this.client, this.server],
      [this.server, this.client],
    ] as const) {
      if (from.closed || to.closed) {
        from.outbox.length = 0;
        continue;
      }
      let items: WireItem[];
      if (only) {
        items = from.outbox.filter((item) => only(item, from));
        const kept = from.outbox.filter((item) => !only(item, from));
        from.outbox.splice(0, from.outbox.length, ...kept);
      } else {
        items = from.outbox.splice(0);
      }
      for (const item of items) to.receive(item);
      if (items.length > 0) moved = true;
    }
    return moved;
  }
}

export type Side = 'client' | 'server';

/** Two H3Connections over a Pipe, with their events recorded and a loop that runs them to rest. */
export class H3Pair {
  readonly pipe: Pipe;
  readonly client: H3Connection;
  readonly server: H3Connection;
  readonly clientEvents: H3Event[] = [];
  readonly serverEvents: H3Event[] = [];
  onServerEvent: ((ev: H3Event, conn: H3Connection) => void) | undefined;
  onClientEvent: ((ev: H3Event, conn: H3Connection) => void) | undefined;

  constructor(
    opts: {
      pipe?: PipeOptions;
      client?: Partial<H3ConnectionOptions>;
      server?: Partial<H3ConnectionOptions>;
    } = {},
  ) {
    this.pipe = new Pipe(opts.pipe);
    this.client = new H3Connection(this.pipe.client, { ...opts.client, isServer: false });
    this.server = new H3Connection(this.pipe.server, { ...opts.server, isServer: true });
  }

  /** Delivers, processes and drains events until nothing moves; returns the rounds used. */
  run(maxRounds = 10_000): number {
    for (let round = 0; round < maxRounds; round++) {
      const moved = this.pipe.deliver();
      let events = 0;
      for (const [conn, list, side] of [
        [this.server, this.serverEvents, 'server'],
        [this.client, this.clientEvents, 'client'],
      ] as const) {
        conn.process();
        for (let ev = conn.poll(); ev; ev = conn.poll()) {
          events++;
          list.push(ev);
          const handler = side === 'server' ? this.onServerEvent : this.onClientEvent;
          handler?.(ev, conn);
        }
      }
      if (!moved && events === 0 && this.pipe.client.outbox.length === 0 && this.pipe.server.outbox.length === 0) return round;
    }
    throw new Error(`pipe did not come to rest in ${maxRounds} rounds`);
  }

  events(side: Side, type?: H3Event['type']): H3Event[] {
    const list = side === 'client' ? this.clientEvents : this.serverEvents;
    return type ? list.filter((e) => e.type === type) : list;
  }
}
