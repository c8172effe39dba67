/**
 * The userspace link process: runs in the host namespace, owns one TUN device per path end, and moves
 * every packet between them through the link model. Started by the userspace backend with an IPC
 * channel; dies with its parent (PR_SET_PDEATHSIG, IPC disconnect, ppid change).
 *
 * Event loop: the link runs its own loop in slices of a few ms: drain readable TUN fds, release due
 * packets, then sleep in ppoll (which wakes on a packet or at the next departure minus a spin margin;
 * inside the margin it polls without sleeping, since waking from sleep is late by 50 us to several ms on
 * a busy VM). Between slices it yields to Node's loop so IPC requests are answered. With a batching
 * window (config.batchUs) a busy link sleeps a window at a time without watching the fds, so one
 * wake-up serves every packet that arrived or came due meanwhile.
 */
import { readFileSync } from 'node:fs';
import { setPriority } from 'node:os';
import { build } from 'hdr-histogram-js';
import type { Histogram } from 'hdr-histogram-js';
import { monoMs } from '../../src/util/clock.ts';
import type { CaptureRequest, CaptureSummary } from '../types.ts';
import { LinkCapture } from './capture.ts';
import { parseRateTrace } from './model/bottleneck.ts';
import { LinkEngine } from './model/engine.ts';
import { warmUpEngine } from './model/warm-up.ts';
import { closeFd, openTunInNamespace, Poller, readPacket, setParentDeathSignal, setRealtimeFifo, setTimerSlackNs, writePacket } from './libc.ts';
import type { AppliedScheduling, LatenessStats, LinkProcessConfig, LinkRequest, LinkResponse, LinkScheduling, LinkStats } from './protocol.ts';

const SIGKILL = 9;
/** Longest time the link keeps Node's loop waiting (IPC latency bound). */
const SLICE_MS = 5;
/** Packets read from one fd before looking at the others and at due departures. */
const READ_BATCH = 64;
const SCRATCH_BYTES = 65536;

/**
 * The link's clock: performance.now() is CLOCK_MONOTONIC like monoMs() but returns a double without
 * allocating a BigInt (the hot path reads it several times per packet, and garbage means collector
 * pauses). Drop events are shifted back onto monoMs() by the offset.
 */
const clock = (): number => performance.now();

class Link {
  private readonly engine: LinkEngine;
  private readonly fds: number[] = [];
  private readonly ingressOf: Array<{ path: number; dir: 'up' | 'down' }> = [];
  private readonly poller: Poller;
  private readonly scratch = Buffer.allocUnsafe(SCRATCH_BYTES);
  private lateness: Histogram = newHistogram();
  /** How late ppoll returns after a timeout, and how long Node's loop keeps the link between slices. */
  private wakeLate: Histogram = newHistogram();
  private yieldGap: Histogram = newHistogram();
  private yieldedAt = 0;
  private writeErrors = 0;
  warmUpMs = 0;
  private running = true;
  /** Set while a pcapng capture runs (bench run --capture); every hook checks it, so it costs nothing when off. */
  private capture: LinkCapture | undefined;
  private captureStartedMs = 0;
  /** monoMs() - clock(): the runner's clock for the link's times. */
  private readonly monoOffsetMs = monoMs() - clock();
  private readonly startedMs = clock();
  private readonly cpuAtStart = process.cpuUsage();
  /** Batching window (ms; 0 = wake for every packet). */
  private readonly batchMs: number;
  private readonly emit = (pathIndex: number, dir: 'up' | 'down', packet: Uint8Array, dueMs: number) => this.write(pathIndex, dir, packet, dueMs);

  constructor(private readonly config: LinkProcessConfig) {
    this.batchMs = Math.max(0, config.batchUs ?? 0) / 1000;
    const traces = new Map<string, number[]>();
    for (const p of config.paths) {
      for (const d of [p.up, p.down]) {
        if (d.rateTrace !== undefined && !traces.has(d.rateTrace)) traces.set(d.rateTrace, parseRateTrace(readFileSync(d.rateTrace, 'utf8'), d.rateTrace));
      }
    }
    try {
      config.devices.forEach((d, i) => {
        // fd 2i: client side (packets going up), fd 2i+1: server side (packets going down).
        this.fds.push(openTunInNamespace(d.clientNs, d.clientDevice));
        this.ingressOf.push({ path: i, dir: 'up' });
        this.fds.push(openTunInNamespace(d.serverNs, d.serverDevice));
        this.ingressOf.push({ path: i, dir: 'down' });
      });
    } catch (e) {
      this.close();
      throw e;
    }
    this.poller = new Poller(this.fds);
    this.engine = new LinkEngine({
      seed: config.seed,
      paths: config.paths,
      addresses: config.devices,
      jitterOrder: config.jitterOrder,
      startMs: clock(),
      traces,
      maxDropEvents: config.maxDropEvents,
      dropClockOffsetMs: this.monoOffsetMs,
    });
  }

  /**
   * Runs the hot path on synthetic packets before real ones come (model/warm-up.ts) and fills the
   * young generation once: compiled code and faulted-in pages, instead of a first second of late
   * packets (scavenges that fault in new pages took 5-40 ms there).
   */
  warmUp(): { packets: number; ms: number } {
    const t0 = clock();
    const scratch = this.scratch;
    const h = newHistogram();
    const r = warmUpEngine({
      paths: this.config.paths,
      addresses: this.config.devices,
      copy: (src, len) => {
        scratch.set(src.subarray(0, len));
        const packet = Buffer.allocUnsafe(len);
        scratch.copy(packet, 0, 0, len);
        return packet;
      },
      onRelease: (_path, _dir, _packet, dueMs) => {
        const lateUs = (clock() - this.startedMs - dueMs) * 1000;
        h.recordValue(Math.min(1_000_000, Math.max(0, Math.round(lateUs))));
      },
    });
    // Allocate through the young generation a few times over, so its pages are faulted in now and
    // not inside a scavenge while packets wait; then one full collection of the start-up garbage.
    const ring: unknown[] = new Array(1024);
    for (let i = 0; i < 300_000; i++) ring[i & 1023] = new Array(16).fill(i);
    ring.fill(undefined);
    (globalThis as { gc?: () => void }).gc?.();
    return { packets: r.offered, ms: clock() - t0 };
  }

  get model(): LinkEngine {
    return this.engine;
  }

  private write(pathIndex: number, dir: 'up' | 'down', packet: Uint8Array, dueMs: number): void {
    // up packets leave on the server side of their path, down packets on the client side.
    const fd = this.fds[2 * pathIndex + (dir === 'up' ? 1 : 0)]!;
    // Lateness is taken when the packet is handed to the kernel: a TUN write runs the receiving
    // stack in this thread, so its duration is the kernel's time, not the scheduler's.
    const now = clock();
    const lateUs = (now - dueMs) * 1000;
    this.lateness.recordValue(lateUs > 0 ? Math.round(lateUs) : 0);
    if (!writePacket(fd, packet)) this.writeErrors++;
    else if (this.capture) this.capture.delivered(pathIndex, packet, now);
  }

  /** One slice of the link's own loop; reschedules itself through Node's loop. */
  slice = (): void => {
    if (!this.running) return;
    const start = clock();
    if (this.yieldedAt > 0) this.yieldGap.recordValue(Math.round((start - this.yieldedAt) * 1000));
    const sliceEnd = start + SLICE_MS;
    const margin = this.config.spinMarginMs;
    const batchMs = this.batchMs;
    // After a wait, only the fds ppoll reported readable are read (a read that finds nothing costs a
    // syscall like one that finds a packet); after a busy round, all of them.
    let polled = false;
    let roundStart = start;
    for (;;) {
      let got = 0;
      for (let i = 0; i < this.fds.length; i++) if (!polled || this.poller.readable(i)) got += this.drain(i);
      polled = false;
      let now = clock();
      const released = this.engine.release(now, this.emit);
      now = clock();
      if (now >= sliceEnd) break;
      if (batchMs > 0 && (got > 0 || released > 0)) {
        // Busy: wake at most once per window. What arrives meanwhile waits in the TUN queues and what
        // comes due waits in the heap; the next round reads and writes all of it (lateness <= window
        // plus the wake-up's own). Sleeping without the fds is what saves the wake-up per packet.
        const wakeAt = Math.min(roundStart + batchMs, sliceEnd);
        if (wakeAt > now) {
          this.poller.sleep(wakeAt - now);
          const late = clock() - wakeAt;
          this.wakeLate.recordValue(late > 0 ? Math.round(late * 1000) : 0);
        }
        roundStart = clock();
        continue;
      }
      if (got > 0) {
        roundStart = now;
        continue;
      }
      const untilDue = this.engine.nextDueMs() - now;
      const sleepMs = Math.min(untilDue - margin, sliceEnd - now);
      if (sleepMs > 0) {
        if (this.poller.wait(sleepMs) === 0) {
          const late = clock() - (now + sleepMs);
          this.wakeLate.recordValue(late > 0 ? Math.round(late * 1000) : 0);
        }
      } else {
        this.poller.wait(0);
      }
      polled = true;
      roundStart = clock();
    }
    this.yieldedAt = clock();
    this.capture?.flushIfDue(this.yieldedAt);
    setImmediate(this.slice);
  };

  private drain(i: number): number {
    const fd = this.fds[i]!;
    const { path, dir } = this.ingressOf[i]!;
    let n = 0;
    for (; n < READ_BATCH; n++) {
      const len = readPacket(fd, this.scratch);
      if (len <= 0) break;
      const packet = Buffer.allocUnsafe(len);
      this.scratch.copy(packet, 0, 0, len);
      const now = clock();
      if (this.capture) this.capture.received(path, packet, now);
      this.engine.ingress(path, dir, packet, now);
    }
    return n;
  }

  stats(reset: boolean): Omit<LinkStats, 'scheduling'> {
    const h = this.lateness;
    const ms = (us: number) => us / 1000;
    const lateness: LatenessStats = {
      count: h.totalCount,
      meanMs: h.totalCount ? ms(h.mean) : 0,
      p50Ms: ms(h.getValueAtPercentile(50)),
      p99Ms: ms(h.getValueAtPercentile(99)),
      p999Ms: ms(h.getValueAtPercentile(99.9)),
      maxMs: ms(h.maxValue),
    };
    const wakeLateP99Ms = ms(this.wakeLate.getValueAtPercentile(99));
    const yieldMaxMs = ms(this.yieldGap.maxValue);
    if (reset) {
      this.lateness = newHistogram();
      this.wakeLate = newHistogram();
      this.yieldGap = newHistogram();
    }
    const cpu = process.cpuUsage(this.cpuAtStart);
    return {
      lateness,
      writeErrors: this.writeErrors,
      dropEventsOmitted: this.engine.droppedEventsOmitted,
      cpuMs: (cpu.user + cpu.system) / 1000,
      uptimeMs: clock() - this.startedMs,
      wakeLateP99Ms,
      yieldMaxMs,
      warmUpMs: this.warmUpMs,
    };
  }

  /** Starts a pcapng capture; returns the monoMs() from which packets are recorded. */
  startCapture(request: CaptureRequest): number {
    if (this.capture) throw new Error(`a capture is already running (${this.capture.summary.file})`);
    const now = clock();
    const epochOffsetMs = performance.timeOrigin;
    const capture = new LinkCapture(request, this.config.paths.map((p) => p.name), now, (ms) => (epochOffsetMs + ms) * 1000);
    this.capture = capture;
    this.captureStartedMs = now;
    this.engine.onDrop = (reason) => capture.dropped(reason);
    return now + this.monoOffsetMs;
  }

  async stopCapture(): Promise<CaptureSummary> {
    const capture = this.capture;
    if (!capture) throw new Error('no capture is running');
    const stoppedMs = clock();
    this.capture = undefined;
    this.engine.onDrop = undefined;
    const summary = await capture.stop();
    return { ...summary, startedAt: this.captureStartedMs + this.monoOffsetMs, stoppedAt: stoppedMs + this.monoOffsetMs };
  }

  close(): void {
    this.capture?.abandon();
    this.capture = undefined;
    this.running = false;
    for (const fd of this.fds.splice(0)) closeFd(fd);
  }
}

function newHistogram(): Histogram {
  // Microseconds, up to 60 s, 3 significant digits.
  return build({ lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: 3 });
}

function main(): void {
  if (!process.send) {
    process.stderr.write('the link process is started by the userspace link backend (it needs an IPC channel)\n');
    process.exit(2);
  }
  setParentDeathSignal(SIGKILL);
  const parent = process.ppid;
  // The parent may have died before PR_SET_PDEATHSIG took effect.
  if (parent === 1) process.exit(1);
  setInterval(() => {
    if (process.ppid !== parent) process.exit(1);
  }, 500).unref();
  process.on('disconnect', () => {
    link?.close();
    process.exit(0);
  });
  setTimerSlackNs(1);

  let link: Link | undefined;
  let scheduling: AppliedScheduling = 'normal';
  const reply = (r: LinkResponse) => process.send!(r);
  process.on('message', (msg: LinkRequest) => {
    try {
      switch (msg.op) {
        case 'init':
          if (link) throw new Error('link already initialised');
          scheduling = applyScheduling(msg.config.scheduling);
          link = new Link(msg.config);
          if (msg.config.warmUp) link.warmUpMs = link.warmUp().ms;
          setImmediate(link.slice);
          return reply({ id: msg.id, ok: true });
        case 'applyPhase':
          need(link).model.applyPhase(msg.phase, clock());
          return reply({ id: msg.id, ok: true });
        case 'restartTraces':
          need(link).model.restartTraces(clock());
          return reply({ id: msg.id, ok: true });
        case 'counters':
          return reply({ id: msg.id, ok: true, result: need(link).model.counters() });
        case 'drops':
          return reply({ id: msg.id, ok: true, result: need(link).model.drops() });
        case 'deliveries':
          return reply({ id: msg.id, ok: true, result: need(link).model.deliveries(msg.sinceMs) });
        case 'captureStart':
          return reply({ id: msg.id, ok: true, result: need(link).startCapture(msg.capture) });
        case 'captureStop':
          need(link)
            .stopCapture()
            .then(
              (result) => reply({ id: msg.id, ok: true, result }),
              (e: Error) => reply({ id: msg.id, ok: false, error: e.message }),
            );
          return;
        case 'stats':
          return reply({ id: msg.id, ok: true, result: { ...need(link).stats(msg.reset ?? false), scheduling } });
        case 'stop':
          link?.close();
          link = undefined;
          reply({ id: msg.id, ok: true });
          process.disconnect();
          return;
      }
    } catch (e) {
      reply({ id: msg.id, ok: false, error: e instanceof Error ? e.message : String(e) });
    }
  });
}

const REALTIME_PRIORITY = 10;
const NICE_HIGH = -10;

function applyScheduling(wanted: LinkScheduling): AppliedScheduling {
  if (wanted === 'realtime') {
    try {
      setRealtimeFifo(REALTIME_PRIORITY);
      return 'realtime';
    } catch {
      // not permitted (no CAP_SYS_NICE, or RT time not granted to this cgroup): try nice
    }
  }
  if (wanted !== 'normal') {
    try {
      setPriority(0, NICE_HIGH);
      return 'nice';
    } catch {
      // not permitted
    }
  }
  return 'normal';
}

function need(link: Link | undefined): Link {
  if (!link) throw new Error('link not initialised');
  return link;
}

main();
