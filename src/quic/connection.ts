/**
 * One QUIC connection over quiche: feeds received datagrams in, runs the paced send loop and the
 * loss/idle timer, and offers quiche's stream calls to the application (HTTP/3) above it.
 *
 * Event order per turn of the event loop: every datagram read in the poll phase is handed to
 * quiche first (receive()), then one setImmediate runs the application ('activity') and the send
 * loop, so ACKs and responses coalesce instead of one flush per datagram.
 *
 * Pacing, by one of two pacers (config.ts, QuicPacing):
 * - bench's (pacer.ts): the loop asks quiche for a packet only when the pacer's budget allows one,
 *   so each packet is built, dated and sent at once; when the budget is spent a timer resumes the
 *   loop at the pacer's next send time.
 * - quiche's: a packet whose release time (SendInfo.at) is still ahead waits in a ReleaseQueue that
 *   a timer drains in order. The loop builds until quiche has nothing more to send (window full,
 *   flow control, no data) or the queue reaches QUEUE_AHEAD_MS into the future: packets built
 *   further ahead would carry ACK frames that go stale while they wait, inflating the peer's RTT
 *   samples.
 * Either way, stopping while quiche could send more is made known to it (declarePacingLimited),
 * else it would count the connection as application-limited and stop growing its window (see
 * release-queue.ts).
 */
import { EventEmitter } from 'node:events';
import { monoMs } from '../util/clock.ts';
import {
  releaseTimeMs,
  Shutdown,
  streamErrorCode,
  type HostPort,
  type NativeConnection,
  type NativeConnectionError,
  type NativePathEvent,
} from './binding.ts';
import type { Pacer } from './pacer.ts';
import { recordRelease, ReleaseQueue, type ReleaseStats } from './release-queue.ts';
import type { QuicSenderStats, QuicStats, SendDating, SendLoopCounters } from './stats.ts';
import { readStats, SendDatingCounter } from './stats.ts';

/** Datagrams out, from the given local address (the endpoint owns the sockets). */
export interface DatagramWriter {
  /** Queues one datagram; `data` is never rewritten afterwards (packets are carved from fresh bytes). */
  write(data: Uint8Array, length: number, to: HostPort, from: HostPort): number;
  /** Sends what is queued (the send loop calls it whenever it stops). */
  flush(): number;
}
// Both return the system calls they made (UDP sends), which the send loop counts.

export interface QuicTimings {
  /** Connection object created (client: first Initial about to be sent). */
  start: number;
  /** quiche reported the handshake complete (isEstablished() first true). */
  established?: number;
  /** Client: the connection went into early data (0-RTT keys available). */
  earlyDataStarted?: number;
  /**
   * Client that sent 0-RTT: whether the server accepted it. quiche does not expose BoringSSL's
   * early-data status, so this is "the session was resumed": a server that cannot resume
   * (new ticket key, restart) rejects 0-RTT. A server that resumes yet refuses early data is
   * not told apart (its 0-RTT packets are declared lost a round trip later and quiche resends
   * the data in 1-RTT, so requests still complete).
   */
  earlyDataAccepted?: boolean;
  closed?: number;
}

export interface QuicCloseInfo {
  /** Error the peer sent in CONNECTION_CLOSE, if any. */
  peer?: NativeConnectionError;
  /** Error we sent. */
  local?: NativeConnectionError;
  timedOut: boolean;
}

export type QuicPathEvent = NativePathEvent;

export interface QuicConnectionEvents {
  /** Handshake complete. */
  established: [];
  /** Datagrams were processed: poll readable streams, continue blocked writes. */
  activity: [];
  path: [QuicPathEvent];
  /** quiche considers the connection closed (after draining). */
  closed: [QuicCloseInfo];
}

/** Packets may leave this much earlier than quiche's release time (timer granularity). */
const PACING_HORIZON_MS = 1;
/** Stop building when the queue already reaches this far ahead (ms). */
const QUEUE_AHEAD_MS = 2;
/**
 * quiche's send() given a buffer too small for a packet's header, number and AEAD tag, while it
 * has something to send, returns Done and clears its application-limited flag ("cwnd almost
 * full" in quiche's own words). 21 bytes hold a short header with up to 20 bytes of connection
 * ID but never a whole packet (header + at least 1 byte of packet number + 16 of tag).
 */
const PACING_LIMITED_PROBE = new Uint8Array(21);
/** Packets built in one go before yielding to the event loop (lets ACKs in on fast links). */
const MAX_BURST_PER_TURN = 128;
/** Room for one packet: quiche never writes more than the max UDP payload we configured. */
const SEND_BUFFER_SIZE = 65536;

/**
 * Packet buffers for every connection of the process, carved from shared slabs: a send may still
 * be queued in the socket, so each packet gets fresh bytes, but without one allocation per packet.
 */
let slab = Buffer.allocUnsafe(0);
let slabOffset = 0;
function packetBuffer(): Buffer {
  if (slabOffset + SEND_BUFFER_SIZE > slab.length) {
    slab = Buffer.allocUnsafe(SEND_BUFFER_SIZE * 16);
    slabOffset = 0;
  }
  return slab.subarray(slabOffset, slabOffset + SEND_BUFFER_SIZE);
}
/** Keeps the bytes the last packetBuffer() packet used. */
function commitPacketBuffer(len: number): void {
  slabOffset += (len + 15) & ~15;
}

interface OutgoingPacket {
  buf: Uint8Array;
  len: number;
  to: HostPort;
  from: HostPort;
}

export class QuicStreamError extends Error {
  constructor(
    readonly streamId: number,
    readonly kind: 'reset' | 'stopped' | 'other',
    readonly code: number | undefined,
    message: string,
  ) {
    super(message);
    this.name = 'QuicStreamError';
  }
}

const NONE_READABLE: readonly number[] = Object.freeze([]);

export class QuicConnection extends EventEmitter<QuicConnectionEvents> {
  readonly timings: QuicTimings;
  private flushScheduled = false;
  private pacingTimer: NodeJS.Timeout | undefined;
  private pacingTimerAt = Infinity;
  private lossTimer: NodeJS.Timeout | undefined;
  private lossDeadline = Infinity;
  private closedEmitted = false;
  private readonly paced = new ReleaseQueue<OutgoingPacket>(PACING_HORIZON_MS);
  /** How quiche dated our packets (stats.ts: SendDating). */
  private readonly dating = new SendDatingCounter();
  private closeWaiters: Array<() => void> = [];
  /** The last readable-streams answer, and whether quiche's may differ from it now. */
  private readable: readonly number[] = [];
  private readableChanged = true;
  /** close() was called: packets are no longer paced. */
  private closing = false;
  /** bench's pacer must re-read quiche's window and RTT (an ACK or a loss timer changed them). */
  private pacerStale = true;
  /** When bench's pacer holds the next packet: the time it may be built. */
  private heldUntil: number | undefined;
  /**
   * What the send loop did: turns run, datagrams received and packets built, loops ended because
   * quiche had nothing to send (cwnd, flow control or idle), by the burst cap, or by pacing.
   */
  readonly sendLoop: SendLoopCounters = { turns: 0, timerWakeups: 0, received: 0, packets: 0, udpSends: 0, idleEnds: 0, burstEnds: 0, pacingLimitedEnds: 0, sendErrors: 0 };


  constructor(
    readonly native: NativeConnection,
    readonly role: 'client' | 'server',
    private readonly write: DatagramWriter,
    /** The 4-tuple the connection currently uses (updated on migration). */
    public local: HostPort,
    public peer: HostPort,
    /** bench's pacer, when it (not quiche's) paces this connection. */
    private readonly pacer?: Pacer,
  ) {
    super();
    this.timings = { start: monoMs() };
  }

  get isEstablished(): boolean {
    return this.native.isEstablished();
  }
  get isClosed(): boolean {
    return this.native.isClosed();
  }
  get isInEarlyData(): boolean {
    return this.native.isInEarlyData();
  }
  get isResumed(): boolean {
    return this.native.isResumed();
  }
  get alpn(): string {
    return Buffer.from(this.native.applicationProto()).toString('latin1');
  }
  get sourceId(): Uint8Array {
    return this.native.sourceId();
  }
  get traceId(): string {
    return this.native.traceId();
  }

  /** Resumption state (TLS session + transport parameters) for a later connection's setSession(). */
  session(): Uint8Array | undefined {
    return this.native.session() ?? undefined;
  }

  stats(): QuicStats {
    return readStats(this.native);
  }

  /** How quiche dated this connection's packets so far: its RTT samples start at those dates. */
  get sendDating(): SendDating {
    return this.dating.value;
  }

  /** This connection as a data sender sees it (bench reports it for its HTTP/3 server). */
  senderStats(): QuicSenderStats {
    const s = this.stats();
    return {
      srttMs: s.rttMs,
      cwndBytes: s.cwndBytes,
      sentPackets: s.sentPackets,
      sentBytes: s.sentBytes,
      lostPackets: s.lostPackets,
      retransmittedPackets: s.retransmittedPackets,
      pacing: { ...this.paced.stats },
      sendLoop: { ...this.sendLoop },
      dating: this.dating.value,
    };
  }

  // ------------------------------------------------------------------ datagrams in

  /** Hands one received datagram to quiche. Returns false when quiche rejected it. */
  receive(datagram: Uint8Array, from: HostPort, to: HostPort): boolean {
    let ok = true;
    this.sendLoop.received++;
    this.readableChanged = true;
    this.pacerStale = true;
    try {
      this.native.recv(datagram, { from, to });
    } catch {
      // Undecryptable, duplicate or otherwise bad packets: quiche already ignored them or closed
      // the connection; either way the send loop below reports it.
      ok = false;
    }
    this.afterInput();
    return ok;
  }

  private afterInput(): void {
    if (this.timings.established === undefined && this.native.isEstablished()) {
      this.timings.established = monoMs();
      if (this.timings.earlyDataStarted !== undefined) {
        this.timings.earlyDataAccepted = this.native.isResumed();
      }
      this.emit('established');
    }
    for (;;) {
      let ev: NativePathEvent | null;
      try {
        ev = this.native.pathEventNext();
      } catch {
        break;
      }
      if (!ev) break;
      if (ev.type === 'PeerMigrated') this.peer = ev.new;
      this.emit('path', ev);
    }
    this.scheduleFlush();
  }

  // ------------------------------------------------------------------ send loop

  /** Arrange for the application to run and pending packets to go out this turn. */
  scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(this.runTurn);
  }

  /** Sends what quiche has right now (the client's first flight, so 0-RTT state is known at once). */
  flushNow(): void {
    this.sendPending();
  }

  private readonly runTurn = (): void => {
    this.sendLoop.turns++;
    // Stream writes made by the 'activity' handlers go out with the sendPending() below: they
    // must not schedule another turn, which would run the application once more for nothing
    // (about half of all turns were such repeats).
    if (!this.closedEmitted) this.emit('activity');
    this.flushScheduled = false;
    this.sendPending();
    this.checkClosed();
  };

  private sendPending(): void {
    const pacer = this.closing ? undefined : this.pacer;
    if (pacer && this.pacerStale) this.updatePacer(pacer);
    for (let n = 0; n < MAX_BURST_PER_TURN; n++) {
      const now = monoMs();
      if (pacer) {
        const allowedAt = pacer.nextSendAt(now);
        if (allowedAt > now) {
          // Budget spent: the pacing timer resumes building at allowedAt.
          this.heldUntil = allowedAt;
          this.flushDatagrams();
          this.declarePacingLimited();
          this.armPacingTimer();
          this.armLossTimer();
          return;
        }
        this.releaseHeld(now);
      }
      const lastAt = this.paced.lastAt;
      if (lastAt !== undefined && lastAt - now > QUEUE_AHEAD_MS) {
        // Pacing-limited: the release timer resumes building.
        this.flushDatagrams();
        this.declarePacingLimited();
        this.armPacingTimer();
        this.armLossTimer();
        return;
      }
      const buf = packetBuffer();
      let result;
      try {
        result = this.native.send(buf);
      } catch {
        // quiche refused to build (closed, or an internal error it also reports by closing):
        // stop here. Rescheduling would spin at full CPU on a connection that keeps refusing.
        this.sendLoop.sendErrors++;
        this.flushDatagrams();
        this.armPacingTimer();
        this.armLossTimer();
        this.checkClosed();
        return;
      }
      if (result === null) {
        this.flushDatagrams();
        this.sendLoop.idleEnds++;
        this.armPacingTimer();
        this.armLossTimer();
        return;
      }
      const [len, info] = result;
      commitPacketBuffer(len);
      this.sendLoop.packets++;
      pacer?.onSent(len, now);
      const at = this.closing ? undefined : releaseTimeMs(info);
      if (at !== undefined) this.dating.record(now - at);
      if (this.paced.sendsNow(at, now)) this.sendLoop.udpSends += this.write.write(buf, len, info.to, info.from);
      else this.paced.push({ buf, len, to: info.to, from: info.from }, at ?? now);
    }
    // Burst budget used: continue next turn so received ACKs are processed in between.
    this.flushDatagrams();
    this.sendLoop.burstEnds++;
    this.armPacingTimer();
    this.armLossTimer();
    this.scheduleFlush();
  }

  private readonly writePacket = (p: OutgoingPacket): void => {
    this.sendLoop.udpSends += this.write.write(p.buf, p.len, p.to, p.from);
  };

  private flushDatagrams(): void {
    this.sendLoop.udpSends += this.write.flush();
  }

  /**
   * Sets bench's pacer from quiche's window and smoothed RTT on the active path. Slow start lasts
   * until the path's first loss: quiche 0.18 does not expose its slow-start threshold, so a
   * HyStart++ exit without loss keeps the slow-start gain (documented in ARCHITECTURE.md).
   */
  private updatePacer(pacer: Pacer): void {
    this.pacerStale = false;
    let paths;
    try {
      paths = this.native.pathStats();
    } catch {
      return; // closed
    }
    const path = paths.find((p) => p.active) ?? paths[0];
    if (path) pacer.update(path.cwnd, path.rtt, path.lost === 0);
  }

  /**
   * bench's pacer lets the packet it held go (by its timer, or earlier when an ACK raised the
   * rate): its release error is recorded once, and the timer no longer aims at it.
   */
  private releaseHeld(now: number): void {
    if (this.heldUntil === undefined) return;
    recordRelease(this.paced.stats, now - this.heldUntil, true);
    this.heldUntil = undefined;
    if (this.pacingTimer && this.paced.size === 0) {
      clearTimeout(this.pacingTimer);
      this.pacingTimer = undefined;
      this.pacingTimerAt = Infinity;
    }
  }

  /** One timer, for the oldest waiting packet or bench's pacer; kept when that time has not changed. */
  private armPacingTimer(): void {
    const at = this.heldUntil ?? this.paced.nextAt;
    if (at === undefined || at === this.pacingTimerAt) return;
    if (this.pacingTimer) clearTimeout(this.pacingTimer);
    this.pacingTimerAt = at;
    this.pacingTimer = setTimeout(this.releaseDue, Math.max(0, at - monoMs()));
  }

  private readonly releaseDue = (): void => {
    this.sendLoop.timerWakeups++;
    this.pacingTimer = undefined;
    this.pacingTimerAt = Infinity;
    const now = monoMs();
    this.paced.takeDue(now, this.writePacket);
    this.sendPending(); // flushes what was released with what it builds
    this.checkClosed();
  };

  private declarePacingLimited(): void {
    this.sendLoop.pacingLimitedEnds++;
    let result;
    try {
      // Returns null (Done): the probe buffer cannot hold a packet.
      result = this.native.send(PACING_LIMITED_PROBE);
    } catch {
      return; // closed or closing: nothing to declare
    }
    if (result) {
      // Not expected (a packet never fits), but a packet quiche counts as sent must go out.
      const [len, info] = result;
      this.paced.push({ buf: PACING_LIMITED_PROBE.slice(0, len), len, to: info.to, from: info.from }, releaseTimeMs(info) ?? monoMs());
    }
  }

  /** How paced packets met their release times (bench reports the release error). */
  get pacing(): ReleaseStats {
    return this.paced.stats;
  }

  private armLossTimer(): void {
    const t = this.native.timeout();
    if (t === null) {
      if (this.lossTimer) clearTimeout(this.lossTimer);
      this.lossTimer = undefined;
      this.lossDeadline = Infinity;
      return;
    }
    const deadline = monoMs() + t;
    // Re-arming a timer per packet is costly; keep the current one unless the deadline moved.
    if (this.lossTimer && Math.abs(deadline - this.lossDeadline) < 1) return;
    if (this.lossTimer) clearTimeout(this.lossTimer);
    this.lossDeadline = deadline;
    this.lossTimer = setTimeout(this.onLossTimer, Math.max(0, t) + 0.5);
  }

  private readonly onLossTimer = (): void => {
    this.lossTimer = undefined;
    this.lossDeadline = Infinity;
    this.pacerStale = true;
    this.native.onTimeout();
    this.afterInput();
    this.checkClosed();
  };

  private checkClosed(): void {
    if (this.closedEmitted || !this.native.isClosed()) return;
    this.emitClosed();
  }

  /** Stops all timers, records the close time and tells listeners and waiters, once. */
  private emitClosed(): void {
    this.closedEmitted = true;
    this.timings.closed = monoMs();
    if (this.lossTimer) clearTimeout(this.lossTimer);
    if (this.pacingTimer) clearTimeout(this.pacingTimer);
    this.lossTimer = this.pacingTimer = undefined;
    this.pacingTimerAt = Infinity;
    this.heldUntil = undefined;
    this.paced.clear();
    const info: QuicCloseInfo = {
      peer: this.native.peerError() ?? undefined,
      local: this.native.localError() ?? undefined,
      timedOut: this.native.isTimedOut(),
    };
    this.emit('closed', info);
    for (const w of this.closeWaiters.splice(0)) w();
  }

  // ------------------------------------------------------------------ streams

  /** Writes as much of data as flow control allows; returns bytes taken (0 when blocked). */
  streamSend(streamId: number, data: Uint8Array, fin: boolean): number {
    try {
      const n = this.native.streamSend(streamId, data, fin);
      this.scheduleFlush();
      return n ?? 0;
    } catch (e) {
      throw this.streamError(streamId, e);
    }
  }

  /** Reads into buf; undefined when nothing is readable now. */
  streamRecv(streamId: number, buf: Uint8Array): { length: number; fin: boolean } | undefined {
    this.readableChanged = true;
    try {
      const r = this.native.streamRecv(streamId, buf);
      if (r === null) return undefined;
      // Reading opens flow-control credit: make sure MAX_STREAM_DATA goes out.
      this.scheduleFlush();
      return { length: r[0], fin: r[1] };
    } catch (e) {
      throw this.streamError(streamId, e);
    }
  }

  /** STOP_SENDING (read) or RESET_STREAM (write) with an application error code. */
  streamShutdown(streamId: number, direction: 'read' | 'write', code: number): void {
    if (direction === 'read') this.readableChanged = true;
    try {
      this.native.streamShutdown(streamId, direction === 'read' ? Shutdown.Read : Shutdown.Write, code);
    } catch {
      // Already finished or unknown stream: nothing to shut down.
    }
    this.scheduleFlush();
  }

  streamCapacity(streamId: number): number {
    try {
      return this.native.streamCapacity(streamId);
    } catch (e) {
      throw this.streamError(streamId, e);
    }
  }

  streamFinished(streamId: number): boolean {
    return this.native.streamFinished(streamId);
  }

  streamPriority(streamId: number, urgency: number, incremental: boolean): boolean {
    try {
      this.native.streamPriority(streamId, urgency, incremental);
      return true;
    } catch {
      // Unknown stream (nothing sent on it yet): priority is advisory.
      return false;
    }
  }

  /**
   * Streams with data, a fin or a reset to read. quiche's list changes only when a datagram
   * arrives or the application reads or stops a stream, so it is asked again only then: its
   * native iterator costs about 10 µs even when empty, and the send loop turns hundreds of times
   * a second. Most datagrams a sender receives are ACKs that leave the list empty, and
   * isReadable() (the same set, 0.1 µs) says so without building the iterator.
   */
  readableStreams(): readonly number[] {
    if (this.readableChanged) {
      this.readable = this.native.isReadable() ? [...this.native.readable()] : NONE_READABLE;
      this.readableChanged = false;
    }
    return this.readable;
  }

  peerStreamsLeftBidi(): number {
    return this.native.peerStreamsLeftBidi();
  }

  peerStreamsLeftUni(): number {
    return this.native.peerStreamsLeftUni();
  }

  private streamError(streamId: number, e: unknown): QuicStreamError {
    const reset = streamErrorCode(e, 'StreamReset');
    if (reset !== undefined) return new QuicStreamError(streamId, 'reset', reset, `stream ${streamId} reset by peer (${reset})`);
    const stopped = streamErrorCode(e, 'StreamStopped');
    if (stopped !== undefined)
      return new QuicStreamError(streamId, 'stopped', stopped, `stream ${streamId} stopped by peer (${stopped})`);
    const msg = e instanceof Error ? e.message : String(e);
    return new QuicStreamError(streamId, 'other', undefined, `stream ${streamId}: ${msg}`);
  }

  // ------------------------------------------------------------------ paths

  /** Starts validating a new path (PATH_CHALLENGE); returns the DCID sequence used. */
  probePath(local: HostPort, peer: HostPort = this.peer): number {
    const seq = this.native.probePath(local, peer);
    this.scheduleFlush();
    return seq;
  }

  /** Moves the connection to a new local address (the peer address stays). */
  migrateTo(local: HostPort, peer: HostPort = this.peer): number {
    const seq = this.native.migrate(local, peer);
    this.local = local;
    this.peer = peer;
    this.scheduleFlush();
    return seq;
  }

  /** Makes the next packet ack-eliciting (a PING when there is nothing else to send). */
  sendPing(): void {
    try {
      this.native.sendAckEliciting();
    } catch {
      // Closed connection: nothing to elicit.
    }
    this.scheduleFlush();
  }

  isPathValidated(local: HostPort, peer: HostPort = this.peer): boolean {
    try {
      return this.native.isPathValidated(local, peer);
    } catch {
      return false;
    }
  }

  /** Issues a new source connection ID to the peer (needed before it can probe or migrate). */
  newSourceCid(cid: Uint8Array, resetToken: bigint): boolean {
    try {
      this.native.newSourceCid(cid, resetToken, false);
      this.scheduleFlush();
      return true;
    } catch {
      return false;
    }
  }

  sourceCidsLeft(): number {
    return this.native.sourceCidsLeft();
  }

  retiredSourceCids(): Uint8Array[] {
    const out: Uint8Array[] = [];
    for (;;) {
      const cid = this.native.retiredScidNext();
      if (!cid) return out;
      out.push(cid);
    }
  }

  // ------------------------------------------------------------------ close

  /**
   * Sends CONNECTION_CLOSE (application close when app is true) and resolves once quiche has
   * finished draining, or after maxWaitMs.
   */
  close(opts: { app?: boolean; code?: number; reason?: string; maxWaitMs?: number } = {}): Promise<void> {
    if (!this.native.isClosed()) {
      // quiche drops an application close that would have to ride in a Handshake packet, so
      // first let pending handshake bytes (the client's Finished) and paced packets out.
      this.closing = true;
      if (this.pacingTimer) clearTimeout(this.pacingTimer);
      this.pacingTimer = undefined;
      this.pacingTimerAt = Infinity;
      this.heldUntil = undefined;
      this.paced.takeAll(this.writePacket);
      this.sendPending();
      this.flushDatagrams();
      try {
        this.native.close(opts.app ?? true, opts.code ?? 0, Buffer.from(opts.reason ?? ''));
      } catch {
        // Already closing.
      }
      this.scheduleFlush();
    }
    return this.closed(opts.maxWaitMs ?? 3000);
  }

  /** Resolves when quiche reports the connection closed (or after maxWaitMs, then forced). */
  closed(maxWaitMs = Infinity): Promise<void> {
    if (this.closedEmitted) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = Number.isFinite(maxWaitMs)
        ? setTimeout(() => {
            this.forceClosed();
            resolve();
          }, maxWaitMs)
        : undefined;
      this.closeWaiters.push(() => {
        if (timer) clearTimeout(timer);
        resolve();
      });
    });
  }

  /** Stops all timers and reports closed without waiting for the draining period. */
  forceClosed(): void {
    if (this.closedEmitted) return;
    this.emitClosed();
  }
}
