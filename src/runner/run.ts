/**
 * One run: for every network variant, topology up -> servers up -> client up -> cells in the
 * interleaved order -> teardown; results streamed to raw.jsonl, then result.json and the report.
 */
import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import type { Protocol, Target } from '../drivers/types.ts';
import { baseRttMs, type NetworkSpec, type Phase, type SenderPacing } from '../../netem/model.ts';
import type { Topology } from '../../netem/types.ts';
import { createTopology } from '../../netem/index.ts';
import type { Cell, CertificateChainInfo, RunResult } from '../results/model.ts';
import { SCHEMA_VERSION } from '../results/model.ts';
import { exactHolFromFiles } from '../capture/read-capture.ts';
import type { Scenario } from '../scenario/types.ts';
import { generateCertificate, type GeneratedCertificate } from '../tls/cert.ts';
import { monoMs } from '../util/clock.ts';
import { BenchError, UserError } from '../util/errors.ts';
import { CHILD_READY_TIMEOUT_MS, ChildHandle } from './child.ts';
import { fidelityFor, kernelVerdict } from './fidelity-cache.ts';
import { environmentInfo, toolVersions } from './environment.ts';
import type { CellKey } from '../results/events.ts';
import type { ClientToRunner, LinkOp, RunCellMessage, RunnerToClient } from './ipc.ts';
import { planCells, type PlannedCell } from './plan.ts';
import type { ProgressSink } from './progress.ts';
import { RawLog } from '../results/raw-log.ts';
import { cellFromResult, summariseCells, validityWarnings } from './summarise.ts';
import type { ServerHandle } from './server-handle.ts';
import { checkServer, startServer } from './server-setup.ts';
import { siteRoutes, type SiteRoute } from './site.ts';
import type { RequestsSpec } from '../workloads/requests.ts';
import type { PathDelay, ProcessUsage } from '../workloads/types.ts';
import { PeerWatchdog } from './watchdog.ts';

const CLIENT_SCRIPT = fileURLToPath(new URL('./client-process.ts', import.meta.url));

export interface RunOptions {
  /** Output directory; default reports/<scenario>/<timestamp>. */
  outDir?: string;
  argv: string[];
  progress: ProgressSink;
  signal: AbortSignal;
  /** The built-in servers wait this long (ms) before every response: an injected regression. */
  serverDelayMs?: number;
  /** Per cell a pcapng of what the link received and delivered (captures/), and the client's TLS key log (keys.log). */
  capture?: boolean;
}

/** bench run --capture: where the captures and the key log that decrypts them go, in the run directory. */
export const CAPTURE_DIR = 'captures';
export const KEYLOG_FILE = 'keys.log';

export interface RunOutcome {
  dir: string;
  result: RunResult;
}

export function defaultRunDir(scenario: Scenario, now = new Date()): string {
  const stamp = now.toISOString().replace(/[:]/g, '-').replace(/\..+$/, '');
  return path.resolve('reports', scenario.name, stamp);
}

export async function runScenario(scenario: Scenario, opts: RunOptions): Promise<RunOutcome> {
  const dir = opts.outDir ? path.resolve(opts.outDir) : defaultRunDir(scenario);
  const dirExisted = existsSync(dir);
  mkdirSync(dir, { recursive: true });
  const runId = Math.random().toString(36).slice(2, 8);
  const startedAt = new Date();
  const raw = new RawLog(path.join(dir, 'raw.jsonl'));
  raw.append({ type: 'run-start', t: monoMs(), runId, scenario: scenario.name });

  const plan = planCells({
    networks: scenario.networks.map((n) => n.label),
    protocols: scenario.protocols,
    workloads: scenario.workloads.map((w) => w.name),
    repetitions: scenario.repetitions,
  });
  const result: RunResult = {
    schemaVersion: SCHEMA_VERSION,
    tool: toolVersions(),
    run: {
      id: runId,
      startedAt: startedAt.toISOString(),
      argv: opts.argv,
      seed: scenario.seed,
      status: 'partial',
      ...(opts.serverDelayMs ? { serverDelayMs: opts.serverDelayMs } : {}),
    },
    environment: { ...environmentInfo(), emulator: { backend: 'none', shaped: false } },
    scenario: JSON.parse(JSON.stringify(scenario)),
    networks: [],
    cells: [],
    summaries: [],
    warnings: [],
  };
  const writeResult = () => writeJsonAtomic(path.join(dir, 'result.json'), result);
  opts.progress.start(plan.length, dir);
  let discarded = false;

  try {
    if (opts.capture) mkdirSync(path.join(dir, CAPTURE_DIR), { recursive: true });
    const cert = await generateCertificate({ key: scenario.tls.key, intermediates: scenario.tls.intermediates });
    // The chain the servers present and the root that verifies it, for tools pointed at a run's capture or servers.
    writeFileSync(path.join(dir, 'cert.pem'), cert.certPem);
    writeFileSync(path.join(dir, 'ca.pem'), cert.caPem);
    if (scenario.servers.kind !== 'external') result.environment.certificate = certificateInfo(cert);
    // What a server other than bench's must answer (bench's own answers them by construction).
    const routes = scenario.servers.kind === 'builtin' ? [] : siteRoutes([WARM_UP, ...scenario.workloads]);
    for (const variant of scenario.networks) {
      if (opts.signal.aborted) break;
      const cells = plan.filter((c) => c.network === variant.label);
      await runNetworkVariant({ scenario, variant, cells, cert, raw, result, runId, opts, dir, routes });
      writeResult();
    }
    if (opts.signal.aborted) throw opts.signal.reason ?? new Error('aborted');
    result.run.status = result.cells.some((c) => c.error) ? 'partial' : 'complete';
  } catch (error) {
    if (error instanceof UserError && result.cells.length === 0) {
      // A mistake found while setting up (e.g. a missing trace file): nothing was measured, so
      // leave nothing behind, as when the scenario itself is rejected.
      raw.close();
      opts.progress.stop();
      discardRunDir(dir, dirExisted);
      discarded = true;
      throw error;
    }
    result.run.status = result.cells.length > 0 ? 'partial' : 'failed';
    result.run.error = error instanceof Error ? error.message : String(error);
    throw Object.assign(error instanceof Error ? error : new Error(String(error)), { runDir: dir });
  } finally {
    if (!discarded) {
      result.run.finishedAt = new Date().toISOString();
      result.run.durationMs = Date.now() - startedAt.getTime();
      result.summaries = summariseCells(result.cells);
      result.warnings.push(...validityWarnings(result));
      writeResult();
      raw.append({ type: 'run-end', t: monoMs(), status: result.run.status });
      raw.close();
      opts.progress.stop();
    }
  }
  return { dir, result };
}

function certificateInfo(cert: GeneratedCertificate): CertificateChainInfo {
  return {
    key: cert.key,
    intermediates: cert.intermediates,
    certificateBytes: cert.chainDerBytes,
    chainBytes: cert.chainDerBytes.reduce((a, b) => a + b, 0),
  };
}

/** Removes what a run wrote into its directory, and the directory if the run made it. */
function discardRunDir(dir: string, dirExisted: boolean): void {
  if (!dirExisted) {
    rmSync(dir, { recursive: true, force: true });
    return;
  }
  for (const file of ['raw.jsonl', 'result.json', 'cert.pem', 'ca.pem', 'server.log', KEYLOG_FILE, CAPTURE_DIR]) rmSync(path.join(dir, file), { recursive: true, force: true });
}

interface VariantContext {
  scenario: Scenario;
  variant: Scenario['networks'][number];
  cells: PlannedCell[];
  cert: GeneratedCertificate;
  raw: RawLog;
  result: RunResult;
  runId: string;
  opts: RunOptions;
  /** The run directory. */
  dir: string;
  routes: readonly SiteRoute[];
}

async function runNetworkVariant(ctx: VariantContext): Promise<void> {
  const { scenario, variant, result, opts } = ctx;
  const note = (line: string) => opts.progress.note(line);
  const topology = await createTopology(variant.spec, {
    runId: ctx.runId,
    scenario: scenario.file,
    seed: scenario.seed,
    kernelVerdict: () => kernelVerdict(note),
  });
  let server: ServerHandle | undefined;
  let client: ChildHandle<RunnerToClient> | undefined;
  let watchdog: PeerWatchdog | undefined;
  const network: RunResult['networks'][number] = {
    label: variant.label,
    spec: variant.spec,
    backend: topology.backend,
    ...(topology.backendReason !== undefined && { backendReason: topology.backendReason }),
  };
  try {
    result.networks.push(network);
    result.environment.emulator.backend = topology.backend;
    result.environment.emulator.shaped = topology.backend !== 'none';
    if (topology.backend === 'none') {
      result.warnings.push({
        level: 'info',
        code: 'NETWORK_NOT_SHAPED',
        network: variant.label,
        message: 'The network was not shaped: client and server talked over plain loopback.',
      });
    }
    opts.progress.note(`network ${variant.label}: ${describeTopology(topology)}`);
    if (topology.backend !== 'none' && !result.environment.emulator.fidelity) {
      result.environment.emulator.fidelity = await fidelityFor(topology.backend, (line) => opts.progress.note(line));
    }
    // Interrupted while setting up: start nothing more, tear down what exists.
    if (opts.signal.aborted) return;

    // The client first: it checks a server bench did not write, over the link, as soon as it starts.
    // With --capture the client logs every TLS secret (TCP and QUIC) so the captures can be decrypted.
    const senderEnv = senderEnvFor(topology);
    const clientEnv = opts.capture ? { ...senderEnv, SSLKEYLOGFILE: path.join(ctx.dir, KEYLOG_FILE) } : senderEnv;
    client = new ChildHandle<RunnerToClient>('client', CLIENT_SCRIPT, topology.commandPrefix('client'), clientEnv);
    // The server starts meanwhile (each child spends its start loading modules); the client's ready
    // message is awaited once the server's has come. Handled now, so a client failing while the
    // server starts is no unhandled rejection; thrown below.
    const clientReady = client.waitFor((m) => m.type === 'ready', CHILD_READY_TIMEOUT_MS, 'ready message');
    clientReady.catch(() => undefined);
    server = await startServer({
      scenario,
      topology,
      cert: ctx.cert,
      congestionControl: congestionControlOf(variant.spec),
      pacing: pacingOf(variant.spec),
      routes: ctx.routes,
      runDir: ctx.dir,
      label: variant.label,
      responseDelayMs: opts.serverDelayMs,
      env: senderEnv,
    });
    await clientReady;
    await checkServer(server, client, { scenario, routes: ctx.routes, workloads: [WARM_UP, ...scenario.workloads], signal: opts.signal });
    recordServers(result, server, scenario.protocols);
    watchdog = new PeerWatchdog(server.exited, topology);
    if (opts.signal.aborted) return;

    await warmUp({ ...ctx, topology, server, client, watchdog });
    for (const planned of ctx.cells) {
      if (opts.signal.aborted) break;
      const cell = await runCell({ ...ctx, topology, server, client, watchdog, planned });
      result.cells.push(cell);
      opts.progress.cellDone(planned, cell);
    }
  } finally {
    watchdog?.stop();
    await client?.stop().catch(() => {});
    await server?.stop().catch(() => {});
    // Read before teardown: a capture that fell behind during the run makes the log incomplete.
    const dropLog = topology.dropLog?.();
    if (dropLog) network.dropLog = dropLog;
    await topology.teardown();
  }
}

/**
 * The environment of the client and server: on a link that shapes a UDP GSO batch as one packet
 * (the kernel link), QUIC senders send datagram by datagram, ours and quic-go's (Caddy) alike.
 */
function senderEnvFor(topology: Topology): NodeJS.ProcessEnv {
  return topology.allowsUdpGso === false ? { ...process.env, BENCH_UDP_GSO: 'off', QUIC_GO_DISABLE_GSO: 'true' } : process.env;
}

/**
 * The unmeasured burst before a network variant's first cell. HTTP/2 and HTTP/3 carry 100 streams
 * at once on their connection, as the multiplex workload does: with 10 at once the first measured
 * cell still cost their servers up to twice the CPU per request of the cells after it (the code
 * paths of many concurrent streams were not yet compiled), and one connection's 100 streams take
 * no more round trips than 10. HTTP/1.1's concurrency is its pool's.
 */
const WARM_UP: RequestsSpec = { type: 'requests', name: 'warm-up', requests: 100, concurrency: 10, connections: 1, sizes: [1000, 50_000], warmup: 0, h1PoolSize: 6 };
const WARM_UP_MULTIPLEXED: RequestsSpec = { ...WARM_UP, requests: 300, concurrency: 100, sizes: [1000, 10_000, 50_000] };

/** Which server answered each protocol (the same for every network variant); a CPU that cannot be read is said so. */
function recordServers(result: RunResult, server: ServerHandle, protocols: Protocol[]): void {
  if (result.servers) return;
  result.servers = server.implementations;
  const unmeasured = protocols.filter((p) => server.implementations[p]?.cpu === 'unavailable');
  if (unmeasured.length > 0) {
    result.warnings.push({
      level: 'info',
      code: 'SERVER_CPU_UNAVAILABLE',
      message: `Server CPU is not measured for ${unmeasured.join(', ')}: an external server's processes are out of bench's sight.`,
    });
  }
}

/**
 * Before the first measured cell, every protocol runs a short unmeasured burst so that JIT
 * compilation, TLS and QUIC code paths and server buffers are warm: otherwise whichever protocol
 * runs first pays for the processes' start-up and the first repetition is an outlier.
 */
async function warmUp(ctx: Omit<CellContext, 'planned'>): Promise<void> {
  ctx.opts.progress.note(`network ${ctx.variant.label}: warming up`);
  // The burst warms code paths, it measures nothing: without the link's loss it takes seconds even
  // where the scenario's loss would stretch it past the cell timeout (12% random loss: minutes for TCP).
  const lossy = ctx.variant.spec.kind === 'shaped' && ctx.variant.spec.paths.some((p) => p.up.loss.model !== 'none' || p.down.loss.model !== 'none');
  if (lossy) await ctx.topology.applyPhase({ atMs: 0, up: { loss: { model: 'none' } }, down: { loss: { model: 'none' } } });
  // A failed warm-up ends the run, so the loss is restored only after one that succeeded; a restore
  // that fails ends the run too, rather than measure on a link without the scenario's loss.
  await warmUpEach(ctx);
  if (lossy) await restoreLink(ctx.topology, ctx.variant.spec, noLinkChanges());
}

async function warmUpEach(ctx: Omit<CellContext, 'planned'>): Promise<void> {
  for (const protocol of ctx.scenario.protocols) {
    if (ctx.opts.signal.aborted) return;
    const done = await dispatchCell(ctx, {
      cellId: nextCellId++,
      protocol,
      workloadType: 'requests',
      spec: protocol === 'h1' ? WARM_UP : WARM_UP_MULTIPLEXED,
      repetition: -1,
      baseRttMs: 0,
    }, `warm-up over ${protocol}`);
    if (done.type === 'cell-error') {
      throw new BenchError('E_WARMUP', `warm-up over ${protocol} failed (${ctx.server.describe(protocol)}): ${done.error.split('\n')[0]}`);
    }
  }
}

type CellOutcome = Extract<ClientToRunner, { type: 'cell-result' | 'cell-error' }>;

/** How long a client has to answer a ping, or to hand in an interrupted cell, before it counts as stuck. */
export const CLIENT_ANSWER_GRACE_MS = 3000;

/**
 * Hands one cell to the client process and waits for its outcome, a dead peer, the cell timeout or
 * an interrupt. On the timeout or an interrupt the cell is aborted; a client that does not even
 * answer a ping then (its event loop is blocked) is killed, so neither a timeout nor Ctrl-C waits on it.
 */
async function dispatchCell(
  ctx: Omit<CellContext, 'planned'>,
  cell: Pick<RunCellMessage, 'cellId' | 'protocol' | 'workloadType' | 'spec' | 'repetition' | 'baseRttMs' | 'rawLog'>,
  what: string,
): Promise<CellOutcome> {
  const { client, scenario, opts } = ctx;
  client.send({
    type: 'run-cell',
    ...cell,
    target: targetFor(ctx, cell.protocol),
    clientAddresses: { ...ctx.topology.clientAddresses },
    pathDelays: pathDelaysOf(ctx.variant.spec),
    requestTimeoutMs: ctx.scenario.timeouts.requestMs,
    congestionControl: congestionControlOf(ctx.variant.spec),
    pacing: pacingOf(ctx.variant.spec),
  });
  const isOutcome = (m: ClientToRunner) => (m.type === 'cell-result' || m.type === 'cell-error') && m.cellId === cell.cellId;
  const stopWaiting = new AbortController();
  const outcome = client.waitFor<CellOutcome>(isOutcome, undefined, what, stopWaiting.signal);
  outcome.catch(() => {}); // abandoned when the run goes on without it
  // Every wait below ends when this call returns: no timer outlives it.
  const pause = (ms: number) => sleep(ms, undefined, { signal: stopWaiting.signal }).catch(() => undefined);
  try {
    const interrupted = new Promise<'interrupted'>((resolve) => {
      if (opts.signal.aborted) resolve('interrupted');
      else opts.signal.addEventListener('abort', () => resolve('interrupted'), { once: true, signal: stopWaiting.signal });
    });
    const timedOut = pause(scenario.timeouts.cellMs).then(() => 'timeout' as const);
    const first = await ctx.watchdog.guard(Promise.race([outcome, interrupted, timedOut]));
    if (first !== 'timeout' && first !== 'interrupted') return first;

    client.send({ type: 'abort-cell', cellId: cell.cellId });
    if (first === 'interrupted') {
      // A client that answers hands in what the cell measured so far; teardown stops any other.
      const partial = await ctx.watchdog.guard(Promise.race([outcome, pause(CLIENT_ANSWER_GRACE_MS)]));
      if (partial) return partial;
      throw opts.signal.reason ?? new Error('interrupted');
    }
    if (!(await answersPing(client))) {
      await client.kill();
      throw new BenchError(
        'E_CLIENT_STUCK',
        `client process did not answer within ${CLIENT_ANSWER_GRACE_MS} ms after the cell timeout (${scenario.timeouts.cellMs} ms) passed: its event loop is blocked; killed it`,
      );
    }
    // Alive: the aborted cell ends once its requests in flight end, at the latest at their timeout.
    const late = await ctx.watchdog.guard(Promise.race([outcome, pause(scenario.timeouts.requestMs + CLIENT_ANSWER_GRACE_MS)]));
    if (!late) {
      await client.kill();
      throw new BenchError('E_CLIENT_STUCK', `client process did not end the cell within the request timeout after the cell timeout passed; killed it`);
    }
    throw new BenchError('E_CELL_TIMEOUT', `no ${what}: aborted after ${scenario.timeouts.cellMs} ms (timeouts.cell)`);
  } finally {
    stopWaiting.abort();
  }
}

let nextPingId = 1;

/** Whether the client's event loop runs: it answers a ping within the grace. */
async function answersPing(client: ChildHandle<RunnerToClient>): Promise<boolean> {
  const id = nextPingId++;
  client.send({ type: 'ping', id });
  return client.waitFor((m: ClientToRunner) => m.type === 'pong' && m.id === id, CLIENT_ANSWER_GRACE_MS, 'answer to a ping').then(
    () => true,
    () => false,
  );
}

function targetFor(ctx: Omit<CellContext, 'planned'>, protocol: Protocol): Target {
  return ctx.server.targets[protocol]!;
}

interface CellContext extends VariantContext {
  topology: Topology;
  server: ServerHandle;
  client: ChildHandle<RunnerToClient>;
  watchdog: PeerWatchdog;
  planned: PlannedCell;
}

let nextCellId = 1;

async function runCell(ctx: CellContext): Promise<Cell> {
  const { planned, scenario, variant, topology, server, client, watchdog, raw, opts } = ctx;
  const workload = scenario.workloads.find((w) => w.name === planned.workload)!;
  const key: CellKey = {
    network: planned.network,
    protocol: planned.protocol,
    workload: planned.workload,
    repetition: planned.repetition,
  };
  const cellId = nextCellId++;
  opts.progress.cellStart(planned);
  // The capture starts first: every packet of the cell is in it, and its window bounds the cell's drops.
  const captureFile = opts.capture ? cellCaptureFile(key) : undefined;
  if (captureFile) await startCellCapture(ctx, key, captureFile);
  let capturing = captureFile !== undefined;
  // A rate trace plays from each cell's start, as the phases do: every protocol meets the same stretch.
  await topology.restartRateTraces?.();
  const started = monoMs();
  raw.append({ type: 'cell-start', t: started, ...key });
  const serverCpuBefore = await server.cpuMs();
  await server.quicSenderStats?.(); // what earlier cells and the warm-up left is not this cell's
  const countersBefore = await topology.counters().catch(() => undefined);
  const linkBefore = await topology.linkProcess?.(true).catch(() => undefined);
  const phaseTimers = schedulePhases(variant.spec, topology, raw, key);
  const linkChanges = noLinkChanges();
  const linkCleanup = serveLinkRequests(client, cellId, { topology, server, spec: variant.spec, cellStart: started, changes: linkChanges, raw, key });
  const abortCell = () => client.alive && client.send({ type: 'abort-cell', cellId });
  try {
    const done = await dispatchCell(ctx, {
      cellId,
      protocol: planned.protocol,
      workloadType: workload.type,
      spec: workload,
      repetition: planned.repetition,
      baseRttMs: variant.spec.kind === 'shaped' ? baseRttMs(variant.spec.paths[0]!) : 0,
      rawLog: { path: raw.path, key },
    }, `result for ${planned.protocol} ${planned.workload} within the cell timeout`);
    const serverCpuAfter = await server.cpuMs();
    const serverQuic = planned.protocol === 'h3' ? await server.quicSenderStats?.() : undefined;
    const serverCpuMs = serverCpuBefore === undefined || serverCpuAfter === undefined ? undefined : serverCpuAfter - serverCpuBefore;
    const countersAfter = await topology.counters().catch(() => undefined);
    const linkAfter = await topology.linkProcess?.(false).catch(() => undefined);
    capturing = false;
    const captured = captureFile !== undefined ? await topology.stopCapture!() : undefined;
    // The link's drop log goes next to the requests, so analyses and waterfalls can join them; with
    // a capture, exactly the drops it marked.
    const inCell = (t: number) => (captured ? t >= captured.startedAt && t <= captured.stoppedAt : t >= started);
    const cellDrops = (await topology.drops().catch(() => [])).filter((drop) => inCell(drop.t));
    for (const drop of cellDrops) raw.append({ type: 'drop', ...drop, ...key });
    raw.append({ type: 'cell-end', t: monoMs(), ...key, error: done.type === 'cell-error' ? done.error : undefined });
    const cell = cellFromResult({
      planned,
      workloadType: workload.type,
      outcome: done.type === 'cell-result' ? { result: done.result } : { error: firstLine(done.error) },
      serverCpuMs,
      clientCpuMs: done.cpuMs,
      serverQuic,
      countersBefore,
      countersAfter,
      linkProcess: linkBefore && linkAfter ? { cpuMs: linkAfter.cpuMs - linkBefore.cpuMs, latenessP99Ms: linkAfter.latenessP99Ms } : undefined,
      wallMs: monoMs() - started,
    });
    if (captured) cell.capture = { file: captureFile!, received: captured.received, delivered: captured.delivered, dropped: captured.dropped };
    const multiplex = cell.details?.multiplex;
    if (multiplex) {
      multiplex.exactHol = captured
        ? await exactHolFromFiles(
            { capture: path.join(ctx.dir, captureFile!), keylog: path.join(ctx.dir, KEYLOG_FILE) },
            { protocol: planned.protocol, dropTimesMs: cellDrops.map((d) => d.t), lossEventAt: multiplex.lossEventAt ?? [] },
          )
        : { unavailable: EXACT_HOL_NEEDS_CAPTURE };
    }
    return cell;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    raw.append({ type: 'cell-end', t: monoMs(), ...key, error: message });
    // A dead peer ends the run (the teardown follows); a cell that merely failed is recorded.
    if (!client.alive || watchdog.failed || opts.signal.aborted) {
      abortCell();
      throw error;
    }
    return cellFromResult({ planned, workloadType: workload.type, outcome: { error: message }, wallMs: monoMs() - started });
  } finally {
    if (capturing) await topology.stopCapture!().catch(() => {});
    linkCleanup();
    for (const t of phaseTimers) clearTimeout(t);
    const { models, route, rebound } = linkChanges;
    if (variant.spec.kind === 'shaped' && (variant.spec.phases.length > 0 || models || route || rebound.size > 0)) {
      await restoreLink(topology, variant.spec, linkChanges, reboundPaths(variant.spec, linkChanges)).catch(() => {});
    }
  }
}

/** Why a multiplex cell has no exact head-of-line figures without a capture; the cost that keeps it opt-in is in docs/ARCHITECTURE.md. */
export const EXACT_HOL_NEEDS_CAPTURE = 'the run had no capture to rebuild the receiver\'s reassembly from (bench run --capture)';

/** Where a cell's capture goes, relative to the run directory: captures/<network>-<protocol>-<workload>-rep<N>.pcapng. */
function cellCaptureFile(key: CellKey): string {
  const safe = (s: string) => s.replace(/[^A-Za-z0-9._=-]+/g, '_');
  return path.join(CAPTURE_DIR, `${safe(key.network)}-${key.protocol}-${safe(key.workload)}-rep${key.repetition}.pcapng`);
}

async function startCellCapture(ctx: CellContext, key: CellKey, file: string): Promise<void> {
  if (!ctx.topology.startCapture) {
    throw new BenchError('E_NO_CAPTURE', `--capture: the ${ctx.topology.backend} backend of network ${key.network} records no packets (only the userspace link does)`);
  }
  await ctx.topology.startCapture({
    file: path.join(ctx.dir, file),
    comment: `bench run ${ctx.runId}: network ${key.network}, ${key.protocol}, workload ${key.workload}, repetition ${key.repetition}. Decrypt with the key log of the run: ${KEYLOG_FILE}.`,
    application: `${ctx.result.tool.name} ${ctx.result.tool.version}`,
  });
}

/** Phases are relative to each cell's start, so every protocol meets the same conditions. */
function schedulePhases(spec: NetworkSpec, topology: Topology, raw: RawLog, key: CellKey): NodeJS.Timeout[] {
  if (spec.kind !== 'shaped') return [];
  return spec.phases.map((phase) =>
    setTimeout(() => {
      raw.append({ type: 'phase', t: monoMs(), at: phase.atMs, description: describePhase(phase), ...key });
      topology.applyPhase(phase).catch((error) => {
        raw.append({ type: 'phase', t: monoMs(), at: phase.atMs, description: `failed: ${String(error)}`, ...key });
      });
    }, phase.atMs),
  );
}

/** What a workload changed on the link during a cell: undone by restore() and at the cell's end. */
interface LinkChanges {
  /** Path models changed (a blackhole, loss removed). */
  models: boolean;
  /** The client's default route moved off the first path. */
  route: boolean;
  /** Paths whose client address/port the link now rewrites. */
  rebound: Set<string>;
}

function noLinkChanges(): LinkChanges {
  return { models: false, route: false, rebound: new Set() };
}

/** Paths a scenario phase or the workload rebound: their rewriting ends with the cell. */
function reboundPaths(spec: NetworkSpec, changes: LinkChanges): Set<string> {
  const paths = new Set(changes.rebound);
  if (spec.kind === 'shaped') {
    for (const ph of spec.phases) if (ph.rebind) for (const p of ph.path ? [ph.path] : spec.paths.map((q) => q.name)) paths.add(p);
  }
  return paths;
}

/** Back to the scenario's link: every path's model, then what the workload changed (route, rebinding). */
async function restoreLink(topology: Topology, spec: NetworkSpec, changes: LinkChanges, rebound = changes.rebound): Promise<void> {
  if (spec.kind !== 'shaped') return;
  for (const p of spec.paths) {
    const reset = rebound.has(p.name) ? { rebind: { reset: true } } : {};
    await topology.applyPhase({ atMs: 0, path: p.name, up: p.up, down: p.down, ...reset });
  }
  if (changes.route) await topology.routeVia(spec.paths[0]!.name);
  Object.assign(changes, noLinkChanges());
}

interface LinkRequestContext {
  topology: Topology;
  server: ServerHandle;
  spec: NetworkSpec;
  cellStart: number;
  changes: LinkChanges;
  raw: RawLog;
  key: CellKey;
}

function serveLinkRequests(client: ChildHandle<RunnerToClient>, cellId: number, ctx: LinkRequestContext): () => void {
  return client.onMessage(async (msg: ClientToRunner) => {
    if (msg.type !== 'link-request') return;
    // The client may die while the operation runs: nobody to answer then (and a throw here would
    // be an unhandled rejection that ends the runner without its teardown).
    const reply = (response: { value?: unknown; error?: string }) => {
      if (client.alive) client.send({ type: 'link-response', requestId: msg.requestId, ...response });
    };
    try {
      reply({ value: await linkOperation(msg.op, msg.arg, ctx) });
    } catch (error) {
      reply({ error: String(error) });
    }
  });
}

async function linkOperation(op: LinkOp, arg: unknown, ctx: LinkRequestContext) {
  const { topology, spec, cellStart, changes } = ctx;
  // The link changes a workload makes go into raw.jsonl beside the scenario's phases.
  const logChange = (description: string) => {
    const t = monoMs();
    ctx.raw.append({ type: 'phase', t, at: Math.round(t - cellStart), description: `by the workload: ${description}`, ...ctx.key });
  };
  switch (op) {
    case 'applyPhase': {
      const phase = arg as Omit<Phase, 'atMs'>;
      await topology.applyPhase({ atMs: 0, ...phase });
      // In effect by now: the time a workload measures from (the client's own clock would add the IPC back).
      const applied = monoMs();
      if (phase.up || phase.down) changes.models = true;
      if (phase.rebind && spec.kind === 'shaped') for (const p of phase.path ? [phase.path] : spec.paths.map((q) => q.name)) changes.rebound.add(p);
      logChange(describePhase({ atMs: 0, ...phase }));
      return applied;
    }
    case 'routeVia': {
      await topology.routeVia(String(arg));
      changes.route = true;
      logChange(`default route via path ${String(arg)}`);
      return;
    }
    case 'restore':
      await restoreLink(topology, spec, changes);
      logChange('link restored to the scenario');
      return;
    case 'drops':
      return (await topology.drops()).filter((d) => d.t >= cellStart);
    case 'deliveries':
      return topology.deliveries(Math.max(cellStart, Number(arg)));
    case 'counters':
      return topology.counters();
    case 'usage': {
      const [serverCpuMs, linkCpuMs, counters] = await Promise.all([ctx.server.cpuMs(), topology.linkCpuMs(), topology.counters()]);
      const usage: ProcessUsage = { serverCpuMs, linkCpuMs, counters };
      return usage;
    }
  }
}

function pathDelaysOf(spec: NetworkSpec): RunCellMessage['pathDelays'] {
  if (spec.kind !== 'shaped') return {};
  return Object.fromEntries(
    spec.paths.map((p) => {
      const delay: PathDelay = { upMs: p.up.delayMs, downMs: p.down.delayMs };
      return [p.name, delay];
    }),
  );
}

function pacingOf(spec: NetworkSpec): SenderPacing {
  return spec.kind === 'shaped' ? (spec.pacing ?? 'default') : 'default';
}

function congestionControlOf(spec: NetworkSpec): 'cubic' | 'reno' | 'bbr' | undefined {
  return spec.kind === 'shaped' ? spec.congestionControl : undefined;
}

function describeTopology(topology: Topology): string {
  if (topology.backend === 'none') return 'plain loopback (not shaped)';
  return `${topology.backend} link, server ${topology.serverAddress}, client ${Object.entries(topology.clientAddresses)
    .map(([p, a]) => `${p}=${a}`)
    .join(' ')}`;
}

function describePhase(phase: Phase): string {
  return JSON.stringify({ ...phase, atMs: undefined });
}

function firstLine(text: string): string {
  return text.split('\n')[0] ?? text;
}

export function writeJsonAtomic(file: string, value: unknown): void {
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, JSON.stringify(value, null, 1));
  renameSync(tmp, file);
}

