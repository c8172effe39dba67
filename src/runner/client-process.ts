/**
 * The client process: runs inside the client namespace, executes one cell at a time on the
 * runner's request and streams every request/connection event back over IPC.
 */
import { getDriver } from '../drivers/index.ts';
import { getWorkload } from '../workloads/registry.ts';
import '../workloads/all.ts';
import type { LinkControl } from '../workloads/types.ts';
import { EXIT_CODES } from '../util/exit-codes.ts';
import { keylogWritesDone } from '../util/keylog.ts';
import type { ClientToRunner, LinkOp, RunCellMessage, RunnerToClient } from './ipc.ts';
import { checkServer } from './server-check.ts';
import type { WorkloadEvent } from '../results/events.ts';
import { Batcher } from '../util/batch.ts';
import { cellKeyJson, RawLog } from '../results/raw-log.ts';

if (!process.send) {
  console.error('client-process must be started by the runner with an IPC channel');
  process.exit(EXIT_CODES.userMistake);
}

const pendingLink = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
const aborts = new Map<number, AbortController>();
let nextRequestId = 1;

/**
 * A measured cell's events go to raw.jsonl in batches (src/util/batch.ts: one write per 20 ms or
 * 500 events), written by this process (raw-log.ts says why). Every batch is on disk before
 * anything else the client sends, so what the runner appends in answer (a phase, the cell's end)
 * follows the events that came before it.
 */
const batches = new Set<Batcher<WorkloadEvent>>();
const send = (message: ClientToRunner) => {
  for (const batch of batches) batch.flush();
  process.send!(message);
};

function linkRequest(op: LinkOp, arg?: unknown): Promise<any> {
  const requestId = nextRequestId++;
  return new Promise((resolve, reject) => {
    pendingLink.set(requestId, { resolve, reject });
    send({ type: 'link-request', requestId, op, arg });
  });
}

const link: LinkControl = {
  applyPhase: (phase) => linkRequest('applyPhase', phase),
  routeVia: (path) => linkRequest('routeVia', path),
  restore: () => linkRequest('restore'),
  drops: () => linkRequest('drops'),
  deliveries: (sinceMs) => linkRequest('deliveries', sinceMs),
  counters: () => linkRequest('counters'),
  usage: () => linkRequest('usage'),
};

function cpuMs(since: NodeJS.CpuUsage): number {
  const u = process.cpuUsage(since);
  return (u.user + u.system) / 1000;
}

async function runCell(msg: RunCellMessage): Promise<void> {
  const abort = new AbortController();
  aborts.set(msg.cellId, abort);
  const cpuStart = process.cpuUsage();
  // Unmeasured cells (warm-ups) keep no events.
  const rawLog = msg.rawLog ? new RawLog(msg.rawLog.path) : undefined;
  const key = msg.rawLog && cellKeyJson(msg.rawLog.key);
  const events = rawLog && key ? new Batcher<WorkloadEvent>((list) => rawLog.appendCellEvents(list, key)) : undefined;
  if (events) batches.add(events);
  try {
    const workload = getWorkload(msg.workloadType);
    const driver = await getDriver(msg.protocol);
    const result = await workload.run({
      protocol: msg.protocol,
      driver,
      target: msg.target,
      spec: msg.spec,
      repetition: msg.repetition,
      baseRttMs: msg.baseRttMs,
      clientAddresses: msg.clientAddresses,
      pathDelays: msg.pathDelays,
      requestTimeoutMs: msg.requestTimeoutMs,
      congestionControl: msg.congestionControl,
      pacing: msg.pacing,
      emit: events ? (event) => events.add(event) : () => {},
      eventLog: msg.rawLog,
      link,
      signal: abort.signal,
    });
    // The client's CPU: this process's and that of any worker processes the workload ran.
    const { workersCpuMs = 0, ...cell } = result;
    send({ type: 'cell-result', cellId: msg.cellId, result: cell, cpuMs: cpuMs(cpuStart) + workersCpuMs });
  } catch (error) {
    const text = error instanceof Error ? (error.stack ?? error.message) : String(error);
    send({ type: 'cell-error', cellId: msg.cellId, error: text, cpuMs: cpuMs(cpuStart) });
  } finally {
    if (events) {
      events.flush();
      batches.delete(events);
    }
    rawLog?.close();
    aborts.delete(msg.cellId);
  }
}

process.on('message', (raw) => {
  const msg = raw as RunnerToClient;
  switch (msg.type) {
    case 'run-cell':
      void runCell(msg);
      break;
    case 'abort-cell':
      aborts.get(msg.cellId)?.abort();
      break;
    case 'ping':
      send({ type: 'pong', id: msg.id });
      break;
    case 'check-server':
      void checkServer(msg.check).then(
        (outcome) => send({ type: 'server-checked', requestId: msg.requestId, outcome }),
        (error: unknown) => send({ type: 'server-checked', requestId: msg.requestId, outcome: { ok: false, stage: 'connect', problem: String(error) } }),
      );
      break;
    case 'link-response': {
      const pending = pendingLink.get(msg.requestId);
      pendingLink.delete(msg.requestId);
      if (msg.error) pending?.reject(new Error(msg.error));
      else pending?.resolve(msg.value);
      break;
    }
    case 'stop':
      exitAfterKeylogs();
  }
});
// The runner owns our lifetime: if it goes away, so do we.
process.on('disconnect', exitAfterKeylogs);

/** With SSLKEYLOGFILE (bench run --capture), secrets still being appended are written first, for at most a second. */
function exitAfterKeylogs(): void {
  const timer = setTimeout(() => process.exit(0), 1000);
  void keylogWritesDone().finally(() => {
    clearTimeout(timer);
    process.exit(0);
  });
}
send({ type: 'ready', pid: process.pid });
