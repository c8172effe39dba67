/**
 * The worker of ./loop-watchdog.ts: runs beside a runner whose event loop may be stuck, so it uses
 * only synchronous calls and writes straight to file descriptor 2 (process.stderr goes through the
 * main thread).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { workerData } from 'node:worker_threads';
import { removeRunsOfSync } from '../../netem/cleanup.ts';
import { exitProcessNow } from '../../netem/userspace/libc.ts';
import { writeSyncIfOpen } from '../util/closed-output.ts';
import { EXIT_CODES } from '../util/exit-codes.ts';
import { ABORTED, BEATS, type LoopWatchdogData } from './loop-watchdog.ts';

const CHECK_MS = 250;
const { shared, stallMs, abortedStallMs, ownerPid } = (workerData as { data: LoopWatchdogData }).data;
const counter = new Int32Array(shared);

let lastBeats = Atomics.load(counter, BEATS);
let lastBeatAt = performance.now();

setInterval(() => {
  const beats = Atomics.load(counter, BEATS);
  const now = performance.now();
  if (beats !== lastBeats) {
    lastBeats = beats;
    lastBeatAt = now;
    return;
  }
  const limit = Atomics.load(counter, ABORTED) ? abortedStallMs : stallMs;
  if (now - lastBeatAt >= limit) tearDown(now - lastBeatAt);
}, CHECK_MS);

function tearDown(stalledMs: number): never {
  // A closed stderr (bench run | head) must not stop the teardown below.
  writeSyncIfOpen(2, `bench: internal error: the runner's event loop has not run for ${(stalledMs / 1000).toFixed(1)} s; removing the run's processes and network directly\n`);
  for (const pid of descendants(ownerPid)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
  const runs = removeRunsOfSync(ownerPid);
  writeSyncIfOpen(2, `bench: removed ${runs.length > 0 ? `run ${runs.join(', ')}` : 'the run'}; what it measured so far is in raw.jsonl\n`);
  return exitProcessNow(EXIT_CODES.internal);
}

/** Every live process below `root`, from /proc (children of `ip netns exec` are node itself: exec keeps the pid). */
function descendants(root: number): number[] {
  const parentOf = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      parentOf.set(Number(entry), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // exited meanwhile
    }
  }
  const out: number[] = [];
  const frontier = [root];
  while (frontier.length > 0) {
    const parent = frontier.pop()!;
    for (const [pid, ppid] of parentOf) {
      if (ppid === parent) {
        out.push(pid);
        frontier.push(pid);
      }
    }
  }
  return out;
}
