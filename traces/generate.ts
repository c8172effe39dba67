/**
 * Generates the cellular-like rate traces shipped in traces/ (Mahimahi format: one line per
 * 1500-byte delivery opportunity, in ms since the start; the trace loops with the period of its
 * last line). No public drive trace can be redistributed here, so the traces are synthetic, from a
 * documented model and a fixed seed: `node --import tsx traces/generate.ts` rewrites them byte for
 * byte. The model (traces/README.md):
 *
 * - The rate is Markov-modulated: the link sits in one of a few rate states for an exponentially
 *   distributed dwell time, then moves to a neighbouring state (signal strength changes gradually
 *   as a car drives; it does not jump from the best cell to the worst).
 * - Short fades (a bridge, a cell edge, a handover between base stations) arrive as a Poisson
 *   process; during one the rate falls to a fraction of the state's rate.
 * - Within each millisecond (the LTE scheduling interval) the number of delivery opportunities is
 *   Poisson with the current rate's mean, so delivery comes in bursts, as in recorded traces.
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { rngFor, type Rng } from '../netem/userspace/model/rng.ts';
import { TRACE_OPPORTUNITY_BYTES } from '../netem/userspace/model/bottleneck.ts';

export interface TraceModel {
  /** Rates of the Markov states, bits/s, in order (neighbours are adjacent). */
  statesBps: readonly number[];
  /** Index of the state the trace starts in. */
  initialState: number;
  /** Mean dwell time in a state, ms (exponential), and the shortest dwell allowed. */
  meanDwellMs: number;
  minDwellMs: number;
  /** Mean time between fades, ms (exponential). */
  meanFadeGapMs: number;
  /** A fade lasts uniformly between these, ms. */
  fadeMinMs: number;
  fadeMaxMs: number;
  /** The rate during a fade, as a fraction of the state's rate. */
  fadeFactor: number;
  /** Length of the trace (its period), ms. */
  durationMs: number;
}

/** Downlink of an LTE drive: 2 to 20 Mbit/s, a few seconds per state, a fade every ~12 s. */
export const LTE_DRIVE_DOWN: TraceModel = {
  statesBps: [2e6, 6e6, 12e6, 20e6],
  initialState: 2,
  meanDwellMs: 4000,
  minDwellMs: 1000,
  meanFadeGapMs: 12_000,
  fadeMinMs: 200,
  fadeMaxMs: 800,
  fadeFactor: 0.1,
  durationMs: 60_000,
};

/** Its uplink: the same kind of drive with a quarter of the downlink's rates (uplinks are thinner). */
export const LTE_DRIVE_UP: TraceModel = { ...LTE_DRIVE_DOWN, statesBps: [0.5e6, 1.5e6, 3e6, 5e6] };

/** The seed of the shipped traces; each direction draws from its own stream (`lte-drive/down`, `lte-drive/up`). */
export const LTE_DRIVE_SEED = 2024;

export const SHIPPED_TRACES = [
  { file: 'lte-drive.down', model: LTE_DRIVE_DOWN, label: 'lte-drive/down' },
  { file: 'lte-drive.up', model: LTE_DRIVE_UP, label: 'lte-drive/up' },
] as const;

function exponential(rng: Rng, mean: number): number {
  return -mean * Math.log(1 - rng.next());
}

/** Knuth's method: fine for the means here (at most ~2 opportunities per ms). */
function poisson(rng: Rng, mean: number): number {
  const limit = Math.exp(-mean);
  let k = 0;
  let p = rng.next();
  while (p > limit) {
    k++;
    p *= rng.next();
  }
  return k;
}

/** The trace as Mahimahi text. Deterministic: the same model, seed and label give the same bytes. */
export function generateTrace(model: TraceModel, seed: number, label: string): string {
  const states = rngFor(seed, `${label}/states`);
  const fades = rngFor(seed, `${label}/fades`);
  const slots = rngFor(seed, `${label}/opportunities`);
  const bitsPerOpportunity = TRACE_OPPORTUNITY_BYTES * 8;

  let state = model.initialState;
  let stateEndsMs = Math.max(model.minDwellMs, exponential(states, model.meanDwellMs));
  let fadeStartsMs = exponential(fades, model.meanFadeGapMs);
  let fadeEndsMs = fadeStartsMs + model.fadeMinMs + fades.next() * (model.fadeMaxMs - model.fadeMinMs);

  const lines: string[] = [];
  for (let ms = 1; ms <= model.durationMs; ms++) {
    while (ms > stateEndsMs) {
      const last = model.statesBps.length - 1;
      // A neighbour, reflecting at both ends.
      state = state === 0 ? 1 : state === last ? last - 1 : state + (states.next() < 0.5 ? -1 : 1);
      stateEndsMs += Math.max(model.minDwellMs, exponential(states, model.meanDwellMs));
    }
    while (ms > fadeEndsMs) {
      fadeStartsMs = fadeEndsMs + exponential(fades, model.meanFadeGapMs);
      fadeEndsMs = fadeStartsMs + model.fadeMinMs + fades.next() * (model.fadeMaxMs - model.fadeMinMs);
    }
    const fading = ms > fadeStartsMs;
    const rateBps = model.statesBps[state]! * (fading ? model.fadeFactor : 1);
    let n = poisson(slots, rateBps / 1000 / bitsPerOpportunity);
    // The last line is the period: it must be the trace's full length.
    if (ms === model.durationMs) n = Math.max(n, 1);
    for (let i = 0; i < n; i++) lines.push(String(ms));
  }
  return `${lines.join('\n')}\n`;
}

export const TRACES_DIR = path.dirname(fileURLToPath(import.meta.url));

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  for (const t of SHIPPED_TRACES) {
    const text = generateTrace(t.model, LTE_DRIVE_SEED, t.label);
    writeFileSync(path.join(TRACES_DIR, t.file), text);
    const ms = text.trimEnd().split('\n').map(Number);
    const periodMs = ms.at(-1)!;
    const perSecond = new Array<number>(Math.ceil(periodMs / 1000)).fill(0);
    for (const t of ms) perSecond[Math.min(perSecond.length - 1, Math.floor((t - 1) / 1000))]!++;
    const mbit = (opportunities: number, overMs: number) => ((opportunities * TRACE_OPPORTUNITY_BYTES * 8) / overMs / 1000).toFixed(2);
    console.log(
      `${t.file}: ${ms.length} opportunities over ${periodMs} ms; mean ${mbit(ms.length, periodMs)} Mbit/s; ` +
        `1 s windows: min ${mbit(Math.min(...perSecond), 1000)}, max ${mbit(Math.max(...perSecond), 1000)} Mbit/s`,
    );
  }
}
