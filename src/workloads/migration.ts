/**
 * A phone that moves while it works: small requests at a fixed rate and a long download run on one
 * session while, at time T, the client moves. `handover`: the current path goes dark, a second path
 * (its own client address) becomes the route and the client is told, as a mobile OS signals a
 * network change. `rebind`: the link rewrites the client's address and port (a NAT rebinding) and the
 * client is not told. `outage`: the path goes dark for a while and comes back. The session recovers
 * as a good mobile client does (ConnectOptions.reconnect, moveTo); the figures say what the move cost.
 */
import type { ClientSession, MoveOutcome, RequestRecord } from '../drivers/types.ts';
import type { MigrationDetails } from '../results/details.ts';
import { expectedInterruption, type MigrationMode } from '../results/migration-theory.ts';
import { monoMs } from '../util/clock.ts';
import { BenchError } from '../util/errors.ts';
import { CellRecorder, failureKind } from './recorder.ts';
import { registerWorkload } from './registry.ts';
import { bytesPath } from './requests.ts';
import { connectSession } from './session.ts';
import { goodputBins } from './goodput.ts';
import { median } from '../metrics/stats.ts';
import type { PathDelay, Workload, WorkloadContext } from './types.ts';

export type { MigrationMode };

export interface MigrationSpec {
  type: 'migration';
  name: string;
  mode: MigrationMode;
  /** When the client moves (T), ms from the start of the activity. */
  moveAtMs: number;
  /** How long requests are issued, ms; those in flight then are awaited. */
  durationMs: number;
  /** outage: how long the path stays dark, ms. */
  outageMs: number;
  /** handover: the path to move to (resolved: the second path unless the scenario names one). */
  to?: string;
  /** h1/h2: a connection with requests in flight silent this long is given up (ConnectOptions.silenceTimeoutMs). */
  silenceTimeoutMs: number;
  /** Small requests per second, issued on schedule whether or not earlier ones were answered. */
  rate: number;
  /** Response size of each small request, bytes. */
  size: number;
  /** Size of the long download, bytes: fetched again and again while the activity runs. */
  download: number;
  h1PoolSize: number;
}

/** Arrivals sooner than this share of a round trip after a move are old bytes read late (see measure). */
const NEW_BYTE_HORIZON_RTTS = 0.75;
/** The small requests answered in this window before the move tell the standing queue. */
const QUEUE_WINDOW_MS = 1000;
/** Goodput bins of the report's chart. */
const GOODPUT_BIN_MS = 50;
/** A download that failed is started again after this pause, so a dead path is not hammered. */
const DOWNLOAD_RETRY_PAUSE_MS = 100;

export const migrationWorkload: Workload<MigrationSpec> = {
  type: 'migration',
  describe:
    'Requests at a fixed rate and a long download while the client moves at time T (handover to another path, NAT rebinding, or an outage): how long traffic stopped, what failed, what was sent again or downloaded twice, and whether the connection survived.',
  paths: (spec) => [bytesPath(spec.size), bytesPath(spec.download)],
  async run(ctx) {
    const { spec } = ctx;
    const pathNames = Object.keys(ctx.clientAddresses);
    const fromPath = pathNames[0];
    const toPath = spec.mode === 'handover' ? (spec.to ?? pathNames[1]) : fromPath;
    if (fromPath === undefined || toPath === undefined || ctx.pathDelays[toPath] === undefined) {
      // The scenario layer refuses such scenarios; a direct caller gets told why.
      throw new BenchError('E_MIGRATION_PATHS', `migration ${spec.mode} needs a shaped network${spec.mode === 'handover' ? ' with a second path' : ''}; the paths are: ${pathNames.join(', ') || 'none'}`);
    }
    const recorder = new CellRecorder(ctx);
    const session = await connectSession(ctx, {
      maxConnections: spec.h1PoolSize,
      localAddress: ctx.clientAddresses[fromPath],
      reconnect: true,
      silenceTimeoutMs: spec.silenceTimeoutMs,
    });
    try {
      const paths: MovePaths = { fromPath, toPath };
      const activity = await runActivity(ctx, session, recorder, paths);
      // The link's own log of what it delivered after the move, where it keeps one.
      const delivered = activity.moveAt === undefined ? undefined : await ctx.link.deliveries(activity.moveAt);
      const details = measure(ctx, session, activity, paths, delivered);
      if (activity.moveAt !== undefined && spec.mode !== 'outage') {
        ctx.emit({
          type: 'path-change',
          t: activity.moveAt,
          mode: spec.mode,
          fromPath,
          toPath,
          fromAddress: ctx.clientAddresses[fromPath],
          toAddress: ctx.clientAddresses[toPath],
          told: spec.mode === 'handover',
          outcome: activity.moveOutcome ?? (details.connectionSurvived ? 'migrated' : 'reconnected'),
        });
      }
      recorder.sessionConnections(session);
      return recorder.result({ transport: await session.stats?.(), details: { migration: details } });
    } finally {
      await session.close();
    }
  },
};

/** The path the client starts on and the one traffic continues on (the same but for a handover). */
interface MovePaths {
  fromPath: string;
  toPath: string;
}

interface Activity {
  start: number;
  records: RequestRecord[];
  /** When the move happened (undefined: aborted before it). */
  moveAt?: number;
  moveOutcome?: MoveOutcome;
  /** The connections open at the move (and their local ports then), and whether each was still open when the activity ended. */
  openAtMove: Array<{ id: string; localPort?: number; openAtEnd: boolean }>;
  requestsIssued: number;
  downloads: number;
}

async function runActivity(
  ctx: WorkloadContext<MigrationSpec>,
  session: ClientSession,
  recorder: CellRecorder,
  paths: MovePaths,
): Promise<Activity> {
  const { spec, signal } = ctx;
  const start = monoMs();
  recorder.start(start);
  const endAt = start + spec.durationMs;
  const activity: Activity = { start, records: [], openAtMove: [], requestsIssued: 0, downloads: 0 };
  const keep = (record: RequestRecord, phase?: string) => {
    activity.records.push(record);
    recorder.sessionConnections(session, undefined, { settledOnly: true });
    // Chunk arrival times stay here (the goodput); raw.jsonl gets the request without them.
    recorder.request({ ...record, progress: undefined }, { phase });
  };

  const downloading = (async () => {
    while (monoMs() < endAt && !signal.aborted) {
      activity.downloads++;
      const record = await session.request({ path: bytesPath(spec.download), recordProgress: true });
      keep(record, 'download');
      if (record.error) await sleepUntil(Math.min(endAt, monoMs() + DOWNLOAD_RETRY_PAUSE_MS), signal);
    }
  })();

  const answers: Promise<void>[] = [];
  const ticking = (async () => {
    const interval = 1000 / spec.rate;
    for (let i = 0; start + i * interval < endAt; i++) {
      await sleepUntil(start + i * interval, signal);
      if (signal.aborted) return;
      activity.requestsIssued++;
      answers.push(session.request({ path: bytesPath(spec.size), recordProgress: true }).then((r) => keep(r)));
    }
  })();

  const moving = (async () => {
    await sleepUntil(start + spec.moveAtMs, signal);
    if (signal.aborted) return;
    activity.openAtMove = session.connections.filter((c) => c.closed === undefined).map((c) => ({ id: c.id, localPort: c.localPort, openAtEnd: false }));
    await move(ctx, session, activity, paths);
  })();

  await Promise.all([downloading, ticking, moving]);
  await Promise.all(answers);
  const end = Math.max(monoMs(), ...activity.records.map((r) => r.done));
  recorder.finish(end);
  const open = new Set(session.connections.filter((c) => c.closed === undefined && !c.error).map((c) => c.id));
  for (const c of activity.openAtMove) c.openAtEnd = open.has(c.id);
  return activity;
}

/** The move itself, through the runner's link operations; the client is told only of a handover. */
async function move(ctx: WorkloadContext<MigrationSpec>, session: ClientSession, activity: Activity, paths: MovePaths): Promise<void> {
  const { fromPath, toPath } = paths;
  const dark = { up: { blackhole: true }, down: { blackhole: true } };
  // The move's time T is when the link had made the change (the interruption counts from there).
  switch (ctx.spec.mode) {
    case 'handover': {
      activity.moveAt = await ctx.link.applyPhase({ path: fromPath, ...dark });
      // The route follows in the background: the session binds the new path's address itself.
      const [, outcome] = await Promise.all([ctx.link.routeVia(toPath), session.moveTo(ctx.clientAddresses[toPath]!, { probe: false })]);
      activity.moveOutcome = outcome;
      return;
    }
    case 'rebind':
      // A NAT's new mapping for the client: another public port, as after a NAT timeout.
      activity.moveAt = await ctx.link.applyPhase({ path: fromPath, rebind: { port: true } });
      return;
    case 'outage':
      activity.moveAt = await ctx.link.applyPhase({ path: fromPath, ...dark });
      // Not cut short by an abort: the path must come back either way (the runner restores it too).
      await sleepUntil(activity.moveAt + ctx.spec.outageMs);
      await ctx.link.applyPhase({ path: fromPath, up: { blackhole: false }, down: { blackhole: false } });
      return;
  }
}

function measure(
  ctx: WorkloadContext<MigrationSpec>,
  session: ClientSession,
  activity: Activity,
  paths: MovePaths,
  delivered: Record<number, number[]> | undefined,
): MigrationDetails {
  const { spec } = ctx;
  const { fromPath, toPath } = paths;
  const to = ctx.pathDelays[toPath]!;
  const rttMs = to.upMs + to.downMs;
  const moveAt = activity.moveAt;
  const newBytes = moveAt === undefined ? undefined : firstNewBytes(ctx, session, activity, moveAt, rttMs, delivered);
  const interruptionMs = newBytes && moveAt !== undefined && Number.isFinite(newBytes.t) ? newBytes.t - moveAt : undefined;
  const retried = activity.records.filter((r) => (r.retries ?? 0) > 0).sort((a, b) => a.done - b.done);
  const small = activity.records.filter((r) => r.path === bytesPath(spec.size));
  const queueAtMoveMs = moveAt === undefined ? undefined : standingQueueMs(small, moveAt, ctx.pathDelays[fromPath]!);
  return {
    mode: spec.mode,
    moveAtMs: spec.moveAtMs,
    durationMs: spec.durationMs,
    ...(spec.mode === 'outage' && { outageMs: spec.outageMs }),
    fromPath,
    toPath,
    rttMs,
    ...(activity.moveOutcome && { moveOutcome: activity.moveOutcome }),
    ...(interruptionMs !== undefined && { interruptionMs, interruptionSeenBy: newBytes!.seenBy }),
    requestsFailed: activity.records.filter((r) => failureKind(r) !== undefined).length,
    requestsRetried: retried.length,
    bytesRefetched: activity.records.reduce((sum, r) => sum + (r.refetchedBytes ?? 0), 0),
    connectionSurvived: activity.openAtMove.length > 0 && activity.openAtMove.every((c) => c.openAtEnd),
    handshakes: moveAt === undefined ? 0 : session.connections.filter((c) => c.start >= moveAt).length,
    ...(retried[0]?.retriedBecause && { breakNoticedBy: retried[0].retriedBecause }),
    requestTimeoutMs: ctx.requestTimeoutMs,
    silenceTimeoutMs: spec.silenceTimeoutMs,
    requestsIssued: activity.requestsIssued,
    downloads: activity.downloads,
    ...(queueAtMoveMs !== undefined && { queueAtMoveMs }),
    expected: expectedInterruption(ctx.protocol, spec.mode, { rttMs, outageMs: spec.outageMs, requestIntervalMs: 1000 / spec.rate, queueMs: queueAtMoveMs }),
    goodput: goodputBins(activity.records, activity.start, GOODPUT_BIN_MS),
  };
}

/**
 * When the first byte the server sent after the move reached the client (t: Infinity when none did).
 *
 * With the link's delivery log (userspace backend): the first data packet delivered after the move
 * to a port of the session's connections, timed by the link, so a busy client's late reading does
 * not count. Nothing the server sent before the move is delivered after it: the link drops what a
 * dark path carries, and a rebinding NAT misdirects what was on its way. Over TCP a connection
 * opened after the move counts from its first request on (its TLS handshake is no response).
 *
 * Without it, from the client's reads: the first response byte read after a round trip of the new
 * path (or after an outage), before which no new byte can arrive (the server must first hear from
 * the client's new address), so what is read sooner was delivered before the move and read late;
 * over TCP a handover or a rebinding leaves the old connections behind, so only attempts written on
 * connections opened after the move carry new bytes.
 */
function firstNewBytes(
  ctx: WorkloadContext<MigrationSpec>,
  session: ClientSession,
  activity: Activity,
  moveAt: number,
  rttMs: number,
  delivered: Record<number, number[]> | undefined,
): { t: number; seenBy: 'link' | 'client' } {
  const { spec } = ctx;
  const records = activity.records;
  const tcp = ctx.protocol !== 'h3';
  // Per connection, from when its bytes count: QUIC's, and TCP's that an outage leaves in place, at
  // once; a TCP connection opened after the move from its first request written.
  const countsFrom = new Map<string, number>();
  for (const c of session.connections) if (!tcp || (c.start < moveAt && spec.mode === 'outage')) countsFrom.set(c.id, moveAt);
  for (const r of records) {
    const id = r.connectionId;
    const written = r.resent ?? r.sent;
    if (id === undefined || written === undefined || countsFrom.has(id) && countsFrom.get(id)! <= written) continue;
    if (session.connections.some((c) => c.id === id && c.start >= moveAt)) countsFrom.set(id, written);
  }
  if (delivered) {
    const fromByPort = new Map<number, number>();
    const note = (port: number | undefined, from: number | undefined) => {
      if (port !== undefined && from !== undefined) fromByPort.set(port, Math.min(from, fromByPort.get(port) ?? Infinity));
    };
    for (const c of session.connections) note(c.localPort, countsFrom.get(c.id));
    for (const c of activity.openAtMove) note(c.localPort, countsFrom.get(c.id));
    let t = Infinity;
    for (const [port, from] of fromByPort) {
      const first = delivered[port]?.find((d) => d > from);
      if (first !== undefined && first < t) t = first;
    }
    return { t, seenBy: 'link' };
  }
  const horizon = moveAt + (spec.mode === 'outage' ? spec.outageMs : NEW_BYTE_HORIZON_RTTS * rttMs);
  const replaced = tcp && spec.mode !== 'outage';
  let t = Infinity;
  for (const r of records) {
    const attemptWritten = r.resent ?? r.sent ?? r.queued;
    const onNewConnection = r.connectionId !== undefined && session.connections.some((c) => c.id === r.connectionId && c.start >= moveAt);
    for (const [at] of r.progress ?? []) {
      if (at <= horizon || at >= t) continue;
      if (replaced && !(onNewConnection && at >= attemptWritten)) continue;
      t = at;
    }
  }
  return { t, seenBy: 'client' };
}

/**
 * How long the path's bottleneck queue held packets just before the move: the small requests'
 * first bytes came this much later than the base round trip (the median over those answered in
 * the last QUEUE_WINDOW_MS before it: each waited behind the download's queued data).
 */
function standingQueueMs(small: readonly RequestRecord[], moveAt: number, path: PathDelay): number | undefined {
  const waits = small
    .filter((r) => r.sent !== undefined && r.firstByte !== undefined && r.firstByte <= moveAt && r.sent >= moveAt - QUEUE_WINDOW_MS)
    .map((r) => r.firstByte! - r.sent! - (path.upMs + path.downMs));
  return waits.length > 0 ? Math.max(0, median(waits)) : undefined;
}

function sleepUntil(t: number, signal?: AbortSignal): Promise<void> {
  const ms = t - monoMs();
  if (ms <= 0 || signal?.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

registerWorkload(migrationWorkload);
