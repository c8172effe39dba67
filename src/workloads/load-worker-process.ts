/**
 * A client worker: a child process of the client process running one share of a load workload
 * (load-share.ts) on the coordinator's orders (load-workers.ts). Its requests' events go in batches
 * to raw.jsonl (a measured cell) or to the coordinator, each batch out before the answer that follows it; each step's answer
 * carries the CPU this process spent on it. It exits when its IPC channel closes.
 */
import { getDriver } from '../drivers/index.ts';
import type { WorkloadEvent } from '../results/events.ts';
import { cellKeyJson, RawLog, type CellKeyJson } from '../results/raw-log.ts';
import { Batcher } from '../util/batch.ts';
import { EXIT_CODES } from '../util/exit-codes.ts';
import { keylogWritesDone } from '../util/keylog.ts';
import { LoadShare } from './load-share.ts';
import type { FromShareWorker, ShareWorkerSetup, ToShareWorker } from './load-workers.ts';

if (!process.send) {
  console.error('load-worker-process must be started by the client process with an IPC channel');
  process.exit(EXIT_CODES.userMistake);
}

const processStart = process.cpuUsage();
const abort = new AbortController();
/** A measured cell's events go to raw.jsonl directly once the cell's log is known (open); others to the coordinator. */
let eventLog: { log: RawLog; key: CellKeyJson } | undefined;
const events = new Batcher<WorkloadEvent>((list) =>
  eventLog ? eventLog.log.appendCellEvents(list, eventLog.key) : process.send!({ type: 'events', events: list } satisfies FromShareWorker),
);
let share: Promise<LoadShare> | undefined;

function reply(message: FromShareWorker): void {
  events.flush();
  process.send!(message);
}

const cpuMsSince = (since: NodeJS.CpuUsage) => {
  const u = process.cpuUsage(since);
  return (u.user + u.system) / 1000;
};

const errorText = (error: unknown) => (error instanceof Error ? (error.stack ?? error.message) : String(error));

async function open(setup: ShareWorkerSetup): Promise<LoadShare> {
  if (setup.eventLog) eventLog = { log: new RawLog(setup.eventLog.path), key: cellKeyJson(setup.eventLog.key) };
  const driver = await getDriver(setup.protocol);
  return LoadShare.open(
    {
      driver,
      target: setup.target,
      requestTimeoutMs: setup.requestTimeoutMs,
      congestionControl: setup.congestionControl,
      pacing: setup.pacing,
      emit: (event) => events.add(event),
      signal: abort.signal,
    },
    setup.share,
  );
}

function opened(): Promise<LoadShare> {
  if (!share) throw new Error('an order came before open');
  return share;
}

async function answer(order: ToShareWorker): Promise<FromShareWorker | undefined> {
  switch (order.type) {
    case 'open':
      share = open(order.setup);
      await share;
      return { type: 'opened' };
    case 'warmup':
      await (await opened()).warmup();
      return { type: 'warmed' };
    case 'step': {
      const cpu = process.cpuUsage();
      const step = await (await opened()).step(order.order);
      return { type: 'stepped', step: { ...step, cpuMs: cpuMsSince(cpu) } };
    }
    case 'finish': {
      const result = await (await opened()).finish();
      // TLS secrets still being appended (SSLKEYLOGFILE) are written before the process is let go.
      await keylogWritesDone();
      return { type: 'finished', result: { ...result, cpuMs: cpuMsSince(processStart) } };
    }
    case 'abort':
      abort.abort();
      return undefined;
  }
}

process.on('message', (order: ToShareWorker) => {
  answer(order).then(
    (message) => message && reply(message),
    (error: unknown) => reply({ type: 'failed', error: errorText(error) }),
  );
});

// The client owns our lifetime: when it closes the channel (or dies), the sessions go with us.
process.on('disconnect', () => {
  abort.abort();
  const timer = setTimeout(() => process.exit(0), 1000);
  void keylogWritesDone().finally(() => {
    clearTimeout(timer);
    process.exit(0);
  });
});
