/**
 * A result with migration cells for the report's tests: per protocol and repetition a simulated
 * activity (a download and requests at 20/s) whose bytes stop at the move and resume after the
 * protocol's textbook interruption (src/results/migration-theory.ts) plus some noise; the figures
 * go through the workload's own goodput binning and the runner's summaries.
 */
import { DIRECTION_DEFAULTS } from '../../netem/model.ts';
import { PROTOCOLS, type Protocol, type RequestRecord } from '../../src/drivers/types.ts';
import type { MigrationDetails } from '../../src/results/details.ts';
import { expectedInterruption, type MigrationMode } from '../../src/results/migration-theory.ts';
import type { Cell, NetworkVariantResult } from '../../src/results/model.ts';
import { seededRandom } from '../../src/metrics/stats.ts';
import { cellFromResult } from '../../src/runner/summarise.ts';
import { goodputBins } from '../../src/workloads/goodput.ts';

export const MIGRATION_NETWORK: NetworkVariantResult = {
  label: 'wifi-to-lte',
  backend: 'userspace',
  spec: {
    kind: 'shaped',
    backend: 'userspace',
    mtu: 1500,
    congestionControl: 'cubic',
    phases: [],
    paths: [
      { name: 'wifi', up: { ...DIRECTION_DEFAULTS, delayMs: 10, rateBps: 20e6 }, down: { ...DIRECTION_DEFAULTS, delayMs: 10, rateBps: 20e6 } },
      { name: 'lte', up: { ...DIRECTION_DEFAULTS, delayMs: 25, rateBps: 10e6 }, down: { ...DIRECTION_DEFAULTS, delayMs: 25, rateBps: 10e6 } },
    ],
  },
};

const MOVE_AT_MS = 3000;
const DURATION_MS = 6000;

/** Bytes arriving every 10 ms at `bitsPerSecond`, stopped from the move until it plus `gapMs`. */
function simulatedDownload(start: number, gapMs: number, before: number, after: number): RequestRecord {
  const progress: Array<[number, number]> = [];
  let bytes = 0;
  for (let t = 10; t <= DURATION_MS; t += 10) {
    if (t > MOVE_AT_MS && t < MOVE_AT_MS + gapMs) continue;
    bytes += ((t < MOVE_AT_MS ? before : after) / 8) * 0.01;
    progress.push([start + t, Math.round(bytes)]);
  }
  return { id: 'r', path: '/bytes/10000000', queued: start, sent: start, done: start + DURATION_MS, bytes, status: 200, progress };
}

export function migrationCells(modes: MigrationMode[] = ['handover', 'rebind'], repetitions = 2, seed = 3): Cell[] {
  const rand = seededRandom(seed);
  const cells: Cell[] = [];
  let order = 0;
  for (const mode of modes) {
    const rttMs = mode === 'handover' ? 50 : 20;
    for (let repetition = 0; repetition < repetitions; repetition++) {
      for (const protocol of PROTOCOLS) {
        const expected = expectedInterruption(protocol, mode, { rttMs, requestIntervalMs: 50 });
        const interruptionMs = expected.ms * (1.1 + 0.4 * rand()) + 5;
        const start = 1_000_000 + order * 10_000;
        const download = simulatedDownload(start, interruptionMs, 19e6, mode === 'handover' ? 9.5e6 : 19e6);
        const tcp = protocol !== 'h3';
        const details: MigrationDetails = {
          mode,
          moveAtMs: MOVE_AT_MS,
          durationMs: DURATION_MS,
          fromPath: 'wifi',
          toPath: mode === 'handover' ? 'lte' : 'wifi',
          rttMs,
          ...(mode === 'handover' && { moveOutcome: tcp ? ('reconnected' as const) : ('migrated' as const) }),
          interruptionMs,
          interruptionSeenBy: 'link',
          requestsFailed: protocol === 'h3' && repetition === 0 ? 1 : 0,
          requestsRetried: tcp ? 2 + Math.round(4 * rand()) : 0,
          bytesRefetched: 0,
          connectionSurvived: !tcp,
          handshakes: protocol === 'h1' ? 6 : protocol === 'h2' ? 1 : 0,
          ...(tcp && mode === 'rebind' && { breakNoticedBy: 'read ECONNRESET' }),
          requestTimeoutMs: 30_000,
          silenceTimeoutMs: 5000,
          requestsIssued: 120,
          downloads: 3,
          expected,
          goodput: goodputBins([download], start, 50),
        };
        cells.push(
          cellFromResult({
            planned: { order: order++, network: MIGRATION_NETWORK.label, protocol: protocol as Protocol, workload: mode, repetition },
            workloadType: 'migration',
            outcome: {
              result: {
                durationMs: DURATION_MS,
                requests: { total: 121, ok: 121 - details.requestsFailed, failed: details.requestsFailed, bytes: download.bytes, failedBy: details.requestsFailed ? { timeout: 1 } : {} },
                connections: { opened: 1 + details.handshakes, resumed: details.handshakes, earlyData: 0 },
                metrics: {},
                details: { migration: details },
              },
            },
            wallMs: DURATION_MS,
          }),
        );
      }
    }
  }
  return cells;
}
