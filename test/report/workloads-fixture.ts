/**
 * Results of the handshake, multiplex and page workloads for report tests, made by running the
 * real workloads (src/workloads), the real cell and summary code (src/runner/summarise.ts) and
 * the real head-of-line analysis on simulated drivers: a seeded packet-level model of the link
 * (delay, rate, random loss, retransmission one RTT later) on a virtual clock. Nothing in the
 * result is written by hand: every figure follows from the simulated connections.
 */
import type { ClientSession, ConnectOptions, ConnectionRecord, Driver, Protocol, RequestRecord, RequestSpec, TransportStats } from '../../src/drivers/types.ts';
import type { DropEvent, FidelityReport, LinkCounters } from '../../netem/types.ts';
import type { DirectionModel } from '../../netem/model.ts';
import type { Cell, RunResult } from '../../src/results/model.ts';
import { SCHEMA_VERSION } from '../../src/results/model.ts';
import type { RawEvent } from '../../src/results/events.ts';
import { cellFromResult, summariseCells, validityWarnings } from '../../src/runner/summarise.ts';
import { handshakeWorkload, type HandshakeMode, type HandshakeSpec } from '../../src/workloads/handshake.ts';
import { multiplexWorkload, type MultiplexSpec } from '../../src/workloads/multiplex.ts';
import { pageWorkload, type PageSpec } from '../../src/workloads/page.ts';
import { parseSsOutput } from '../../src/workloads/tcp-info.ts';
import type { Workload, WorkloadContext, WorkloadResult } from '../../src/workloads/types.ts';
import { seededRandom } from '../../src/metrics/stats.ts';
import { monoMs } from '../../src/util/clock.ts';
import { MIGRATION_NETWORK, migrationCells } from './migration-fixture.ts';

const PROTOCOLS: Protocol[] = ['h1', 'h2', 'h3'];
const MSS = 1200;
const SERVER_PORT = 8443;

/** monoMs() reads process.hrtime.bigint(): replaced while a fixture runs, so simulated time passes instantly. */
class VirtualClock {
  now = 1_000_000;
  private original?: typeof process.hrtime.bigint;
  install(): void {
    this.original = process.hrtime.bigint;
    process.hrtime.bigint = () => BigInt(Math.round(this.now * 1e6));
  }
  restore(): void {
    if (this.original) process.hrtime.bigint = this.original;
  }
  advanceTo(t: number): void {
    this.now = Math.max(this.now, t);
  }
}

/** The simulated link: base RTT, bottleneck rate, random loss in both directions, a small emulator error. */
interface LinkModel {
  rttMs: number;
  rateBytesPerMs: number;
  loss: number;
  /** Extra delay per traversal the emulator adds (its measured error). */
  emulatorErrorMs: number;
}

class SimLink {
  readonly drops: DropEvent[] = [];
  readonly deliveries: Record<number, number[]> = {};
  packets = 0;
  loss: number;
  constructor(
    readonly model: LinkModel,
    readonly rand: () => number,
  ) {
    this.loss = model.loss;
  }
  /** One traversal's delay. */
  oneWay(): number {
    return this.model.rttMs / 2 + this.model.emulatorErrorMs * (0.5 + this.rand());
  }
  lost(t: number, dir: 'up' | 'down', clientPort: number, proto: 'tcp' | 'udp'): boolean {
    this.packets++;
    if (this.rand() >= this.loss) return false;
    const [srcPort, dstPort] = dir === 'up' ? [clientPort, SERVER_PORT] : [SERVER_PORT, clientPort];
    this.drops.push({ t, path: 'primary', dir, proto, srcPort, dstPort, len: dir === 'up' ? 120 : MSS + 52, reason: 'loss' });
    return true;
  }
  /** A data packet reached the client: the delivery log head-of-line analysis joins with. */
  delivered(t: number, clientPort: number): void {
    (this.deliveries[clientPort] ??= []).push(t);
  }
  counters(): LinkCounters {
    const d = { packetsIn: this.packets, packetsOut: this.packets - this.drops.length, dropped: this.drops.length, duplicated: 0, reordered: 0, corrupted: 0 };
    return { primary: { up: { ...d, packetsIn: 0, packetsOut: 0, dropped: 0 }, down: d } };
  }
  control(): WorkloadContext['link'] {
    return {
      applyPhase: async (phase) => {
        if (phase.down?.loss?.model === 'none') this.loss = 0;
        return monoMs();
      },
      routeVia: async () => {
        throw new Error('one simulated path: nothing to route over');
      },
      restore: async () => {
        this.loss = this.model.loss;
      },
      drops: async () => [...this.drops],
      deliveries: async (sinceMs) =>
        Object.fromEntries(Object.entries(this.deliveries).map(([port, times]) => [port, times.filter((t) => t >= sinceMs).sort((a, b) => a - b)])),
      counters: async () => this.counters(),
      // No server or link process here: their CPU is not measured.
      usage: async () => ({ counters: this.counters() }),
    };
  }
}

let nextPort = 40_000;
let nextId = 0;

function connectionRecord(protocol: Protocol, start: number): ConnectionRecord {
  return { id: `${protocol}-c${nextId++}`, protocol, start, resumed: false, earlyData: protocol === 'h3' ? false : 'n/a', localPort: nextPort++, remotePort: SERVER_PORT };
}

/* ------------------------------------------------------------------ handshake */

export interface HandshakeFixtureOptions {
  rttsMs?: number[];
  repetitions?: number;
  connections?: number;
  /** Extra time before the first byte, in base RTTs, for some (protocol, mode): a deliberate deviation. */
  extraRtt?: Partial<Record<Protocol, Partial<Record<HandshakeMode, number>>>>;
  /** Client and server processing per connection (ms), spread over the handshake and the response. */
  processingMs?: number;
  seed?: number;
}

/** A driver whose connections take the textbook round trips on the simulated link, plus processing time. */
function handshakeDriver(protocol: Protocol, clock: VirtualClock, link: SimLink, opts: HandshakeFixtureOptions): Driver {
  const proc = () => (opts.processingMs ?? 0.6) * (0.7 + 0.6 * link.rand());
  const trip = () => link.oneWay() + link.oneWay();
  return {
    protocol,
    async connect(_target, copts: ConnectOptions = {}): Promise<ClientSession> {
      const mode: HandshakeMode = copts.session ? (copts.earlyData ? '0rtt' : 'resumed') : 'cold';
      const record = connectionRecord(protocol, clock.now);
      const start = record.start;
      const extra = (opts.extraRtt?.[protocol]?.[mode] ?? 0) * link.model.rttMs;
      let sendAt: number;
      let firstByteAt: number;
      if (protocol === 'h3') {
        record.transportReady = record.tlsReady = start + trip() + proc() / 2;
        record.resumed = mode !== 'cold';
        if (mode === '0rtt') {
          record.earlyData = true;
          sendAt = start + 0.05;
          firstByteAt = start + trip() + proc() / 2 + extra;
        } else {
          sendAt = record.tlsReady + 0.05;
          firstByteAt = sendAt + trip() + proc() / 2 + extra;
        }
        link.packets += mode === '0rtt' ? 8 : 10;
      } else {
        record.transportReady = start + trip();
        record.tlsReady = record.transportReady + trip() + proc() / 2;
        record.resumed = mode === 'resumed';
        sendAt = record.tlsReady + 0.05;
        firstByteAt = sendAt + trip() + proc() / 2 + extra;
        link.packets += 14;
      }
      record.alpn = protocol === 'h1' ? 'http/1.1' : protocol;
      clock.advanceTo(mode === '0rtt' ? start : record.tlsReady!);
      const session: ClientSession = {
        protocol,
        connections: [record],
        async request(spec: RequestSpec): Promise<RequestRecord> {
          const done = firstByteAt + 0.1;
          clock.advanceTo(done);
          return { id: `r${nextId++}`, connectionId: record.id, path: spec.path, queued: sendAt - 0.02, sent: sendAt, headers: firstByteAt, firstByte: firstByteAt, done, bytes: 1024, status: 200, earlyData: mode === '0rtt' };
        },
        session: () => new Uint8Array([1, 2, 3]),
        moveTo: notSimulated,
        async close() {
          record.closed = clock.now;
        },
      };
      return session;
    },
  };
}

/* ------------------------------------------------------------------ multiplex */

interface PendingRequest {
  spec: RequestSpec;
  resolve: (r: RequestRecord) => void;
}

interface ConnState {
  record: ConnectionRecord;
  upLost: number;
  recvPackets: number;
  sentPackets: number;
}

/**
 * Concurrent requests on one connection (a pool of up to 6 for h1). The server interleaves the
 * responses packet by packet; a lost packet is retransmitted one RTT later. TCP delivers in
 * order per connection (so one loss holds back every stream on it); QUIC in order per stream.
 */
/** Moving is the migration workload's, which these simulations do not drive. */
async function notSimulated(): Promise<never> {
  throw new Error('moveTo is not simulated');
}

class SimSession implements ClientSession {
  readonly connections: ConnectionRecord[] = [];
  readonly moveTo = notSimulated;
  private readonly conns: ConnState[] = [];
  private pending: PendingRequest[] = [];
  private scheduled = false;

  constructor(
    readonly protocol: Protocol,
    private readonly clock: VirtualClock,
    private readonly link: SimLink,
    poolSize: number,
  ) {
    const count = protocol === 'h1' ? poolSize : 1;
    const start = clock.now;
    const setup = link.model.rttMs * (protocol === 'h3' ? 1 : 2) + 1;
    for (let i = 0; i < count; i++) {
      const record = connectionRecord(protocol, start);
      record.transportReady = start + link.model.rttMs * (protocol === 'h3' ? 1 : 1) + 0.3;
      record.tlsReady = start + setup;
      this.connections.push(record);
      this.conns.push({ record, upLost: 0, recvPackets: 0, sentPackets: 0 });
    }
    clock.advanceTo(start + setup);
  }

  request(spec: RequestSpec): Promise<RequestRecord> {
    return new Promise((resolve) => {
      this.pending.push({ spec, resolve });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.scheduled = false;
    const batch = this.pending;
    this.pending = [];
    const records = this.protocol === 'h1' ? this.simulateH1(batch) : this.simulateMultiplexed(batch);
    this.clock.advanceTo(Math.max(...records.map((r) => r.done)));
    batch.forEach((p, i) => p.resolve(records[i]!));
  }

  private sizeOf(spec: RequestSpec): number {
    return Number(/\/bytes\/(\d+)/.exec(spec.path)?.[1] ?? 1024);
  }

  /** Time from a packet's departure to its delivery given loss: one RTT (plus three packets' time) later when lost. */
  private arrival(depart: number, conn: ConnState, pktMs: number): number {
    const proto = this.protocol === 'h3' ? 'udp' : 'tcp';
    conn.recvPackets++;
    const arrive = depart + this.link.oneWay();
    if (this.link.lost(depart, 'down', conn.record.localPort!, proto)) {
      const again = arrive + this.link.model.rttMs + 3 * pktMs;
      this.link.delivered(again, conn.record.localPort!);
      return again;
    }
    this.link.delivered(arrive, conn.record.localPort!);
    return arrive;
  }

  /** When the request reaches the server: a lost request packet waits for a retransmission timeout. */
  private requestArrival(sent: number, conn: ConnState): number {
    conn.sentPackets++;
    const proto = this.protocol === 'h3' ? 'udp' : 'tcp';
    const arrive = sent + this.link.oneWay();
    if (!this.link.lost(sent, 'up', conn.record.localPort!, proto)) return arrive;
    conn.upLost++;
    // QUIC's probe timeout is about 1.5 RTT; Linux TCP's RTO is at least 200 ms.
    const timeout = this.protocol === 'h3' ? 1.5 * this.link.model.rttMs : Math.max(200, this.link.model.rttMs) + this.link.model.rttMs;
    return arrive + timeout;
  }

  private simulateMultiplexed(batch: PendingRequest[]): RequestRecord[] {
    const conn = this.conns[0]!;
    const t0 = this.clock.now;
    const pktMs = MSS / this.link.model.rateBytesPerMs;
    const streams = batch.map((p, i) => {
      const sent = t0 + 0.01 * i;
      return { p, sent, atServer: this.requestArrival(sent, conn), left: this.sizeOf(p.spec), got: 0, progress: [] as Array<[number, number]>, lastDeliver: 0 };
    });
    let depart = Math.min(...streams.map((s) => s.atServer));
    let lastDeliverConn = 0;
    let rr = 0;
    while (streams.some((s) => s.left > 0)) {
      const ready = streams.filter((s) => s.left > 0 && s.atServer <= depart);
      if (ready.length === 0) {
        depart = Math.min(...streams.filter((s) => s.left > 0).map((s) => s.atServer));
        continue;
      }
      const s = ready[rr++ % ready.length]!;
      const bytes = Math.min(MSS, s.left);
      s.left -= bytes;
      const arrive = this.arrival(depart, conn, pktMs);
      // TCP: in order across the connection; QUIC: in order within the stream only.
      const deliver = this.protocol === 'h3' ? Math.max(arrive, s.lastDeliver) : Math.max(arrive, lastDeliverConn);
      lastDeliverConn = Math.max(lastDeliverConn, deliver);
      s.lastDeliver = deliver;
      s.got += bytes;
      s.progress.push([deliver, s.got]);
      depart += pktMs;
    }
    return streams.map((s) => this.record(s.p, conn, t0, s.sent, s.progress));
  }

  private simulateH1(batch: PendingRequest[]): RequestRecord[] {
    const t0 = this.clock.now;
    const share = this.link.model.rateBytesPerMs / this.conns.length;
    const pktMs = MSS / share;
    const free = this.conns.map(() => t0);
    const out: RequestRecord[] = [];
    batch.forEach((p) => {
      const i = free.indexOf(Math.min(...free));
      const conn = this.conns[i]!;
      const sent = free[i]!;
      let depart = this.requestArrival(sent, conn);
      let left = this.sizeOf(p.spec);
      let got = 0;
      let lastDeliver = 0;
      const progress: Array<[number, number]> = [];
      while (left > 0) {
        const bytes = Math.min(MSS, left);
        left -= bytes;
        lastDeliver = Math.max(this.arrival(depart, conn, pktMs), lastDeliver);
        got += bytes;
        progress.push([lastDeliver, got]);
        depart += pktMs;
      }
      free[i] = lastDeliver;
      out.push(this.record(p, conn, t0, sent, progress));
    });
    return out;
  }

  private record(p: PendingRequest, conn: ConnState, queued: number, sent: number, progress: Array<[number, number]>): RequestRecord {
    // Chunks arrive in delivery order; the server's first packet of a stream may be delivered after a later one was sent.
    const sorted = progress.sort((a, b) => a[0] - b[0]);
    const done = sorted[sorted.length - 1]![0];
    return {
      id: `r${nextId++}`,
      connectionId: conn.record.id,
      path: p.spec.path,
      queued,
      sent,
      headers: sorted[0]![0],
      firstByte: sorted[0]![0],
      done,
      bytes: sorted[sorted.length - 1]![1],
      status: 200,
      progress: p.spec.recordProgress ? sorted : undefined,
    };
  }

  /** What quiche's path statistics would say on the client: its own sends and losses. */
  async stats(): Promise<TransportStats | undefined> {
    const c = this.conns[0]!;
    return { rttMs: this.link.model.rttMs + 0.4, cwndBytes: 12_000, sentPackets: c.sentPackets + Math.ceil(c.recvPackets / 2), recvPackets: c.recvPackets, lostPackets: c.upLost, retransmittedPackets: c.upLost };
  }

  /** What `ss -tin` in the client namespace would print for these connections. */
  ssText(): string {
    return this.conns
      .map(
        (c) =>
          `ESTAB 0 0 10.99.0.2:${c.record.localPort} 10.99.0.1:${SERVER_PORT}\n` +
          `\t cubic wscale:7,7 rto:${Math.round(this.link.model.rttMs * 1.5 + 200)} rtt:${(this.link.model.rttMs + 0.6).toFixed(3)}/0.4 mss:1448 cwnd:10 ` +
          `bytes_sent:${c.sentPackets * 90} bytes_received:${c.recvPackets * MSS} segs_out:${c.sentPackets + Math.ceil(c.recvPackets / 2)} segs_in:${c.recvPackets} retrans:0/${c.upLost} lost:0`,
      )
      .join('\n');
  }

  session(): Uint8Array | undefined {
    return undefined;
  }

  async close(): Promise<void> {}
}

function multiplexDriver(protocol: Protocol, clock: VirtualClock, link: SimLink, sessions: SimSession[]): Driver {
  return {
    protocol,
    async connect(_target, opts: ConnectOptions = {}) {
      const s = new SimSession(protocol, clock, link, opts.maxConnections ?? 6);
      sessions.push(s);
      return s;
    },
  };
}

/* ------------------------------------------------------------------ page */

/** A page load: the document, then every subresource it names; h1 queues them on up to 6 connections. */
function pageDriver(protocol: Protocol, clock: VirtualClock, link: SimLink): Driver {
  return {
    protocol,
    async connect(_target, opts: ConnectOptions = {}) {
      const pool = protocol === 'h1' ? (opts.maxConnections ?? 6) : 1;
      const setup = link.model.rttMs * (protocol === 'h3' ? 1 : 2);
      const conns: Array<{ record: ConnectionRecord; free: number }> = [];
      const open = (t: number) => {
        const record = connectionRecord(protocol, t);
        record.transportReady = t + link.model.rttMs;
        record.tlsReady = t + setup;
        conns.push({ record, free: t + setup });
        return conns[conns.length - 1]!;
      };
      open(clock.now);
      clock.advanceTo(clock.now + setup);
      let pending: Array<{ spec: RequestSpec; resolve: (r: RequestRecord) => void }> = [];
      const flush = () => {
        const batch = pending;
        pending = [];
        const t0 = clock.now;
        const total = batch.reduce((s, p) => s + size(p.spec), 0);
        const out = batch.map((p) => {
          let conn = conns.reduce((a, b) => (a.free <= b.free ? a : b));
          if (protocol === 'h1' && conn.free > t0 && conns.length < pool) conn = open(t0);
          const sent = protocol === 'h1' ? Math.max(conn.free, t0) : Math.max(conn.free, t0);
          const transfer = protocol === 'h1' ? (size(p.spec) * conns.length) / link.model.rateBytesPerMs : total / link.model.rateBytesPerMs;
          const packets = Math.ceil(size(p.spec) / MSS);
          let lossDelay = 0;
          for (let k = 0; k < packets; k++) if (link.rand() < link.loss) lossDelay = link.model.rttMs;
          const firstByte = sent + link.oneWay() + link.oneWay() + 0.3;
          const done = firstByte + transfer + lossDelay;
          if (protocol === 'h1') conn.free = done;
          const body = isDocument(p.spec.path) ? pageBody(p.spec.path) : undefined;
          const record: RequestRecord = {
            id: `r${nextId++}`,
            connectionId: conn.record.id,
            path: p.spec.path,
            queued: t0,
            sent,
            headers: firstByte,
            firstByte,
            done,
            bytes: body ? body.length : size(p.spec),
            status: 200,
            responseHeaders: { 'content-type': body ? 'text/html' : 'application/octet-stream' },
            body,
          };
          return record;
        });
        clock.advanceTo(Math.max(...out.map((r) => r.done)));
        batch.forEach((p, i) => p.resolve(out[i]!));
      };
      const session: ClientSession = {
        protocol,
        get connections() {
          return conns.map((c) => c.record);
        },
        request(spec) {
          return new Promise((resolve) => {
            if (pending.length === 0) setImmediate(flush);
            pending.push({ spec, resolve });
          });
        },
        session: () => undefined,
        moveTo: notSimulated,
        async close() {},
      };
      return session;
    },
  };
}

const isDocument = (path: string) => path.startsWith('/page/') && !path.includes('/res/');

function size(spec: RequestSpec): number {
  const m = /size=(\d+)/.exec(spec.path) ?? /\/bytes\/(\d+)/.exec(spec.path);
  return isDocument(spec.path) ? 4000 : Number(m?.[1] ?? 1024);
}

function pageBody(path: string): Uint8Array {
  const n = Number(/\/page\/p(\d+)/.exec(path)?.[1] ?? 10);
  const resource = Number(/size=(\d+)/.exec(path)?.[1] ?? 10_000);
  const imgs = Array.from({ length: n }, (_, i) => `<img src="/page/p${n}/res/${i}?size=${resource}">`).join('\n');
  return new TextEncoder().encode(`<!doctype html><html><body>${imgs}</body></html>`);
}

/* ------------------------------------------------------------------ result assembly */

interface NetworkDef {
  label: string;
  link: LinkModel;
}

interface CellJob<Spec> {
  workload: Workload<Spec>;
  spec: Spec & { name: string; type: string };
  driver: (protocol: Protocol, clock: VirtualClock, link: SimLink) => Driver;
  /** After the workload: what the runner would have added from outside the client (e.g. ss output). */
  after?: (protocol: Protocol, result: WorkloadResult) => void;
}

function direction(delayMs: number, rateBps: number, loss: number): DirectionModel {
  return {
    delayMs,
    jitterMs: 0,
    jitterDistribution: 'normal',
    jitterCorrelation: 0,
    loss: loss > 0 ? { model: 'random', probability: loss, correlation: 0 } : { model: 'none' },
    duplicate: 0,
    reorder: 0,
    reorderCorrelation: 0,
    corrupt: 0,
    rateBps,
    blackhole: false,
  };
}

const FIDELITY: FidelityReport = {
  backend: 'userspace',
  measuredAt: '2025-01-01T11:59:00.000Z',
  target: { delayMs: 25, jitterMs: 0, loss: 0.01, rateBps: 20e6 },
  oneWayDelayMeanMs: 25.06,
  jitterStdMs: 0.04,
  loss: 0.0101,
  lossInterval95: [0.0085, 0.0119],
  rateBps: 19.9e6,
  schedulerLatenessP99Ms: 0.12,
  pass: { delay: true, jitter: true, loss: true, rate: true, scheduler: true },
};

/** Runs every (network, repetition, protocol, workload) cell as the runner does and assembles result.json and raw.jsonl. */
async function runCells(
  name: string,
  networks: NetworkDef[],
  jobs: Array<CellJob<any>>,
  repetitions: number,
  seed: number,
): Promise<{ result: RunResult; raw: RawEvent[] }> {
  const clock = new VirtualClock();
  const cells: Cell[] = [];
  const raw: RawEvent[] = [];
  const rand = seededRandom(seed);
  let order = 0;
  clock.install();
  try {
    for (const network of networks) {
      for (let repetition = 0; repetition < repetitions; repetition++) {
        const rotated = PROTOCOLS.map((_, i) => PROTOCOLS[(i + repetition) % PROTOCOLS.length]!);
        for (const job of jobs) {
          for (const protocol of rotated) {
            const link = new SimLink(network.link, rand);
            const key = { network: network.label, protocol, workload: job.spec.name, repetition };
            const started = clock.now;
            raw.push({ type: 'cell-start', t: started, ...key });
            const ctx: WorkloadContext<unknown> = {
              protocol,
              driver: job.driver(protocol, clock, link),
              target: { host: '10.99.0.1', port: 1 },
              spec: job.spec,
              repetition,
              baseRttMs: network.link.rttMs,
              clientAddresses: { primary: '10.99.0.2' },
              pathDelays: { primary: { upMs: network.link.rttMs / 2, downMs: network.link.rttMs / 2 } },
              requestTimeoutMs: 60_000,
              emit: (e) => raw.push({ ...e, ...key } as RawEvent),
              link: link.control(),
              signal: new AbortController().signal,
            };
            const before = link.counters();
            const result = await job.workload.run(ctx);
            job.after?.(protocol, result);
            for (const drop of link.drops) if (drop.t >= started) raw.push({ type: 'drop', ...drop, ...key });
            raw.push({ type: 'cell-end', t: clock.now, ...key });
            cells.push(
              cellFromResult({
                planned: { order: order++, ...key },
                workloadType: job.spec.type,
                outcome: { result },
                serverCpuMs: 40 + 20 * rand(),
                clientCpuMs: 60 + 20 * rand(),
                countersBefore: before,
                countersAfter: link.counters(),
                wallMs: clock.now - started,
              }),
            );
          }
        }
      }
    }
  } finally {
    clock.restore();
  }
  const result: RunResult = {
    schemaVersion: SCHEMA_VERSION,
    tool: { name: 'bench', version: '0.1.0', dependencies: {} },
    run: { id: `${name}-fixture`, startedAt: '2025-01-01T12:00:00.000Z', durationMs: 60_000, argv: ['run', `scenarios/${name}.yaml`], seed, status: 'complete' },
    environment: {
      node: 'v20.20.0',
      platform: 'linux',
      kernel: '6.1.0-test',
      cpu: { model: 'Test CPU', cores: 2 },
      memoryBytes: 8 * 1024 ** 3,
      emulator: { backend: 'userspace', shaped: true, fidelity: FIDELITY },
    },
    scenario: { name, file: `scenarios/${name}.yaml`, description: `${name} (simulated drivers)`, protocols: PROTOCOLS, repetitions },
    networks: networks.map((n) => ({
      label: n.label,
      backend: 'userspace' as const,
      spec: {
        kind: 'shaped' as const,
        backend: 'userspace' as const,
        mtu: 1500,
        congestionControl: 'cubic' as const,
        phases: [],
        paths: [{ name: 'primary', up: direction(n.link.rttMs / 2, n.link.rateBytesPerMs * 8000, n.link.loss), down: direction(n.link.rttMs / 2, n.link.rateBytesPerMs * 8000, n.link.loss) }],
      },
    })),
    cells,
    summaries: summariseCells(cells),
    warnings: [],
  };
  result.warnings = validityWarnings(result);
  return { result, raw };
}

export async function handshakeFixture(opts: HandshakeFixtureOptions = {}): Promise<{ result: RunResult; raw: RawEvent[] }> {
  const spec: HandshakeSpec = { type: 'handshake', name: 'setup', modes: ['cold', 'resumed', '0rtt'], connections: opts.connections ?? 10, parallel: 1, size: 1024 };
  const networks = (opts.rttsMs ?? [20, 100, 300]).map((rtt) => ({
    label: `rtt=${rtt}ms`,
    link: { rttMs: rtt, rateBytesPerMs: 20e6 / 8000, loss: 0, emulatorErrorMs: 0.06 },
  }));
  return runCells('handshake-rtt', networks, [{ workload: handshakeWorkload, spec, driver: (p, c, l) => handshakeDriver(p, c, l, opts) }], opts.repetitions ?? 3, opts.seed ?? 11);
}

export interface MultiplexFixtureOptions {
  losses?: number[];
  repetitions?: number;
  requests?: number;
  rounds?: number;
  /** Also run the page workload on the same networks. */
  page?: boolean;
  seed?: number;
}

export async function multiplexFixture(opts: MultiplexFixtureOptions = {}): Promise<{ result: RunResult; raw: RawEvent[] }> {
  const spec: MultiplexSpec = { type: 'multiplex', name: 'hol', requests: opts.requests ?? 60, sizes: [10_000], rounds: opts.rounds ?? 3, reference: true, h1PoolSize: 6 };
  const networks = (opts.losses ?? [0.02]).map((loss) => ({
    label: `loss=${+(loss * 100).toFixed(2)}%`,
    link: { rttMs: 100, rateBytesPerMs: 20e6 / 8000, loss, emulatorErrorMs: 0.06 },
  }));
  const sessions: SimSession[] = [];
  const jobs: Array<CellJob<any>> = [
    {
      workload: multiplexWorkload,
      spec,
      driver: (p, c, l) => multiplexDriver(p, c, l, sessions),
      // ss cannot see simulated sockets: give the workload's figures what ss would have printed.
      after: (protocol, result) => {
        const mine = sessions.splice(0);
        const details = result.details?.multiplex as { transportPerConnection: TransportStats[] } | undefined;
        if (protocol !== 'h3' && details) details.transportPerConnection = mine.flatMap((s) => parseSsOutput(s.ssText()));
      },
    },
  ];
  if (opts.page) {
    const page: PageSpec = { type: 'page', name: 'page', resources: 30, depth: 1, sizes: { html: 4000, resource: 8000 }, loads: 4, h1PoolSize: 6 };
    jobs.push({ workload: pageWorkload, spec: page, driver: (p, c, l) => pageDriver(p, c, l) });
  }
  return runCells('hol-loss', networks, jobs, opts.repetitions ?? 3, opts.seed ?? 5);
}

/** One result with all three workloads (handshake on its own loss-free networks). */
export async function workloadsFixture(): Promise<{ result: RunResult; raw: RawEvent[] }> {
  const a = await handshakeFixture({ rttsMs: [20, 100], repetitions: 3, connections: 6 });
  const b = await multiplexFixture({ losses: [0.02], repetitions: 3, page: true });
  const moves = migrationCells();
  return {
    result: {
      ...a.result,
      scenario: { ...a.result.scenario, name: 'workloads', description: 'Connection setup, head-of-line blocking, page loads and moves (simulated drivers).' },
      networks: [...a.result.networks, ...b.result.networks, MIGRATION_NETWORK],
      cells: [...a.result.cells, ...b.result.cells, ...moves],
      summaries: [...a.result.summaries, ...b.result.summaries, ...summariseCells(moves)],
      warnings: [...a.result.warnings, ...b.result.warnings],
    },
    raw: [...a.raw, ...b.raw],
  };
}
