import cliProgress from 'cli-progress';
import type { Cell } from '../results/model.ts';
import type { PlannedCell } from './plan.ts';

/** What the runner reports while it goes: a live bar on a TTY, plain lines otherwise. */
export interface ProgressSink {
  start(totalCells: number, dir: string): void;
  note(text: string): void;
  cellStart(cell: PlannedCell): void;
  cellDone(cell: PlannedCell, result: Cell): void;
  stop(): void;
}

export function createProgress(mode: { quiet: boolean; tty: boolean; stream?: NodeJS.WriteStream }): ProgressSink {
  const stream = mode.stream ?? process.stderr;
  if (mode.quiet) return silentProgress;
  return mode.tty ? barProgress(stream) : lineProgress(stream);
}

export const silentProgress: ProgressSink = {
  start() {},
  note() {},
  cellStart() {},
  cellDone() {},
  stop() {},
};

function label(cell: PlannedCell): string {
  return `${cell.network} ${cell.protocol} ${cell.workload} rep ${cell.repetition + 1}`;
}

export function cellLine(cell: Cell): string {
  if (cell.error) return `failed: ${cell.error}`;
  const latency = cell.metrics.latency;
  const p = latency ? ` p50 ${latency.p50.toFixed(1)} ms p99 ${latency.p99.toFixed(1)} ms` : '';
  return `${cell.requests.ok}/${cell.requests.total} ok, ${cell.requestsPerSec.toFixed(0)} req/s${p}`;
}

function lineProgress(stream: NodeJS.WritableStream): ProgressSink {
  let total = 0;
  let done = 0;
  let startedAt = 0;
  const elapsed = () => `${((Date.now() - startedAt) / 1000).toFixed(1)}s`;
  return {
    start(n, dir) {
      total = n;
      startedAt = Date.now();
      stream.write(`bench: ${n} cells, writing to ${dir}\n`);
    },
    note(text) {
      stream.write(`bench: ${text}\n`);
    },
    cellStart() {},
    cellDone(cell, result) {
      done++;
      stream.write(`[${done}/${total} ${elapsed()}] ${label(cell)}: ${cellLine(result)}\n`);
    },
    stop() {},
  };
}

function barProgress(stream: NodeJS.WriteStream): ProgressSink {
  const bar = new cliProgress.SingleBar(
    {
      stream,
      format: '{bar} {value}/{total} cells | {duration_formatted} | {current}',
      hideCursor: true,
      clearOnComplete: false,
    },
    cliProgress.Presets.shades_classic,
  );
  return {
    start(n, dir) {
      stream.write(`bench: writing to ${dir}\n`);
      bar.start(n, 0, { current: 'starting' });
    },
    note(text) {
      bar.update({ current: text.slice(0, 60) });
    },
    cellStart(cell) {
      bar.update({ current: label(cell) });
    },
    cellDone(cell, result) {
      bar.increment(1, { current: `${label(cell)}: ${cellLine(result)}` });
    },
    stop() {
      bar.stop();
    },
  };
}
