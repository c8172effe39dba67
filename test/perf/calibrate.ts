/**
 * `npm run calibrate`: how often the stored-baseline gate cries wolf, and how often it catches a
 * known regression, on this machine. Runs scenarios/calibrate-loopback.yaml (network: none) over
 * and over, alternating the baseline build (servers wait --base-delay before every response) and
 * a regressed one (--base-delay + --extra-delay, about 15% of the median latency), then gates:
 *
 *   A/A pairs  (baseline run i, baseline run i+1): any blocking check is a false alarm;
 *   A/B pairs  (baseline run i, regressed run i):  any blocking check is a detection;
 *
 * for every --max-regression of --thresholds, both tests (bootstrap, Mann-Whitney) and with and
 * without Holm's correction, all from the same runs (evaluation is offline). The runs stay in the
 * output directory (a0/ b0/ a1/ ..., each a complete run with its result.json), so `--from` can
 * gate them again under other settings without running anything (given more than once, the pairs
 * of all the sets are pooled; A/A pairs never cross sets); `--use-repetitions 5` gates only the
 * first 5 repetitions of every run (one set of 10-repetition runs answers for 5 and 10).
 *
 *   npm run calibrate -- [--pairs 20] [--repetitions 5] [--base-delay 5] [--extra-delay 1] [--out DIR]
 *   npm run calibrate -- --from reports/calibrate/<dir> [--from <dir> ... --out DIR] [--use-repetitions 5]
 *     [--thresholds 5,7.5,10,12.5,15] [--tests bootstrap,mann-whitney] [--corrections holm,none]
 */
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { evaluateGate, type FamilyCorrection, GATE_SIGNIFICANCE, isBlocking, type SignificanceTest } from '../../src/gate/evaluate.ts';
import { DEFAULT_MAX_REGRESSION, regressionAssertions } from '../../src/gate/regression.ts';
import { median } from '../../src/metrics/stats.ts';
import type { RunResult } from '../../src/results/model.ts';
import { readResult } from '../../src/results/read.ts';
import { calibrationRun, ROOT } from './calibrate-run.ts';

/** The gate's targets (docs/ci.md): at most 5% false alarms, at least 90% of a 15% latency regression caught. */
const TARGET_FALSE_ALARMS = 0.05;
const TARGET_DETECTION = 0.9;
const TESTS: SignificanceTest[] = ['bootstrap', 'mann-whitney'];
const CORRECTIONS: FamilyCorrection[] = ['holm', 'none'];

const { values: args } = parseArgs({
  options: {
    pairs: { type: 'string', default: '20' },
    repetitions: { type: 'string', default: '5' },
    'base-delay': { type: 'string', default: '5' },
    'extra-delay': { type: 'string', default: '1' },
    thresholds: { type: 'string', default: '5,7.5,10,12.5,15' },
    tests: { type: 'string', default: TESTS.join(',') },
    corrections: { type: 'string', default: CORRECTIONS.join(',') },
    from: { type: 'string', multiple: true },
    'use-repetitions': { type: 'string' },
    out: { type: 'string' },
  },
});
const thresholds = args.thresholds.split(',').map((t) => Number(t) / 100);
if (thresholds.some((t) => !(t > 0 && t < 1))) throw new Error(`--thresholds takes percentages, e.g. 5,10,15; got ${args.thresholds}`);
const tests = args.tests.split(',') as SignificanceTest[];
if (tests.some((t) => !TESTS.includes(t))) throw new Error(`--tests takes ${TESTS.join(', ')}; got ${args.tests}`);
const corrections = args.corrections.split(',') as FamilyCorrection[];
if (corrections.some((c) => !CORRECTIONS.includes(c))) throw new Error(`--corrections takes ${CORRECTIONS.join(', ')}; got ${args.corrections}`);
const useRepetitions = args['use-repetitions'] === undefined ? undefined : Number(args['use-repetitions']);
const from = args.from ?? [];
if (from.length > 1 && !args.out) throw new Error('several --from sets: give --out DIR for the pooled evaluation');
const load1 = () => os.loadavg()[0]!;
const loadSeen: number[] = [load1()];

/** One calibration's runs: baselines a0 ... aN, regressed b0 ... bN-1. */
interface CalibrationSet {
  dir: string;
  baselines: RunResult[];
  regressed: RunResult[];
}

const stored = from.length > 0;
const sets: CalibrationSet[] = stored ? from.map((d) => storedSet(path.resolve(d))) : [fresh()];
const out = path.resolve(args.out ?? sets[0]!.dir);
mkdirSync(out, { recursive: true });

/** Runs a new calibration into reports/calibrate/<timestamp>/ (or --out), resuming what is there. */
function fresh(): CalibrationSet {
  const pairs = Number(args.pairs);
  const repetitions = Number(args.repetitions);
  const baseDelay = Number(args['base-delay']);
  const extraDelay = Number(args['extra-delay']);
  const dir = path.resolve(args.out ?? path.join(ROOT, 'reports', 'calibrate', new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19)));
  mkdirSync(dir, { recursive: true });
  process.stderr.write(`calibrating: ${pairs} pairs, ${repetitions} repetitions per run, server delay ${baseDelay} ms vs ${baseDelay + extraDelay} ms; runs in ${dir}; load average ${load1().toFixed(2)}\n`);
  const run = (name: string, delayMs: number): RunResult => {
    const result = calibrationRun(path.join(dir, name), { repetitions, delayMs });
    loadSeen.push(load1());
    return result;
  };
  const baselines: RunResult[] = [];
  const regressed: RunResult[] = [];
  // Interleaved, so machine drift falls on both builds alike.
  for (let i = 0; i <= pairs; i++) {
    baselines.push(run(`a${i}`, baseDelay));
    if (i < pairs) regressed.push(run(`b${i}`, baseDelay + extraDelay));
  }
  return { baselines, regressed, dir };
}

/** The runs of an earlier calibration: a0 ... aN and b0 ... bN-1 under `dir`. */
function storedSet(dir: string): CalibrationSet {
  const indices = (prefix: string) =>
    readdirSync(dir)
      .filter((n) => new RegExp(`^${prefix}\\d+$`).test(n) && existsSync(path.join(dir, n, 'result.json')))
      .map((n) => Number(n.slice(1)))
      .sort((x, y) => x - y);
  const a = indices('a');
  const b = indices('b');
  if (b.length === 0 || a.length !== b.length + 1 || a.some((n, i) => n !== i) || b.some((n, i) => n !== i)) {
    throw new Error(`${dir}: expected runs a0 ... a${b.length} and b0 ... b${b.length - 1}, each with a result.json; found a: ${a.join(' ')}; b: ${b.join(' ')}`);
  }
  process.stderr.write(`gating the ${b.length} pair${b.length === 1 ? '' : 's'} stored in ${dir} again\n`);
  return { baselines: a.map((i) => readResult(path.join(dir, `a${i}`))), regressed: b.map((i) => readResult(path.join(dir, `b${i}`))), dir };
}

/** The first `n` repetitions of a run, as if it had been run with --repetitions n. */
function firstRepetitions(result: RunResult, n: number | undefined): RunResult {
  if (n === undefined) return result;
  const available = new Set(result.cells.map((c) => c.repetition)).size;
  if (n > available) throw new Error(`--use-repetitions ${n}: run ${result.run.id} has ${available}`);
  return { ...result, cells: result.cells.filter((c) => c.repetition < n) };
}

const gated = sets.map((set) => {
  const A = set.baselines.map((r) => firstRepetitions(r, useRepetitions));
  const B = set.regressed.map((r) => firstRepetitions(r, useRepetitions));
  const baseDelay = A[0]!.run.serverDelayMs ?? 0;
  return {
    ...set,
    A,
    B,
    repetitions: new Set(A[0]!.cells.map((c) => c.repetition)).size,
    baseDelay,
    extraDelay: (B[0]!.run.serverDelayMs ?? 0) - baseDelay,
    /** The regression the extra delay caused: per protocol, the median over pairs of the p50 ratio. */
    injected: Object.fromEntries(['h1', 'h2', 'h3'].map((p) => [p, median(B.map((b, i) => p50(b, p) / p50(A[i]!, p) - 1))])),
  };
});
const pairs = gated.reduce((n, g) => n + g.B.length, 0);

function p50(r: RunResult, protocol: string): number {
  return median(r.cells.filter((c) => c.protocol === protocol && !c.error).map((c) => c.metrics.latency!.p50));
}

interface Row {
  test: SignificanceTest;
  correction: FamilyCorrection;
  maxRegression: number;
  familySize: number;
  falseAlarms: number;
  detections: number;
  /** Per set, in the order of --from. */
  falseAlarmsBySet: number[];
  detectionsBySet: number[];
  falseAlarmRate: number;
  detectionRate: number;
  meetsTargets: boolean;
  /** Per set and A/A pair, the checks that blocked. */
  falseAlarmChecks: string[][][];
  /** Per set and A/B pair, the checks that blocked. */
  detectedBy: string[][][];
}

const blocking = (baseline: RunResult, candidate: RunResult, maxRegression: number, test: SignificanceTest, correction: FamilyCorrection) => {
  const { checks, family } = evaluateGate(regressionAssertions(candidate, baseline, maxRegression), candidate, baseline, { seed: candidate.run.seed, test, correction });
  return { blocked: checks.filter(isBlocking).map((c) => c.assertion.text), size: family.size };
};

const rows: Row[] = [];
for (const test of tests) {
  for (const correction of corrections) {
    for (const maxRegression of thresholds) {
      const aa = gated.map(({ A }) => A.slice(0, -1).map((a, i) => blocking(a, A[i + 1]!, maxRegression, test, correction)));
      const ab = gated.map(({ A, B }) => B.map((b, i) => blocking(A[i]!, b, maxRegression, test, correction)));
      const count = (perSet: { blocked: string[] }[][]) => perSet.map((xs) => xs.filter((x) => x.blocked.length > 0).length);
      const falseAlarmsBySet = count(aa);
      const detectionsBySet = count(ab);
      const falseAlarms = falseAlarmsBySet.reduce((x, y) => x + y, 0);
      const detections = detectionsBySet.reduce((x, y) => x + y, 0);
      rows.push({
        test,
        correction,
        maxRegression,
        familySize: Math.max(...[...aa, ...ab].flat().map((x) => x.size)),
        falseAlarms,
        detections,
        falseAlarmsBySet,
        detectionsBySet,
        falseAlarmRate: falseAlarms / pairs,
        detectionRate: detections / pairs,
        meetsTargets: falseAlarms / pairs <= TARGET_FALSE_ALARMS && detections / pairs >= TARGET_DETECTION,
        falseAlarmChecks: aa.map((xs) => xs.map((x) => x.blocked)),
        detectedBy: ab.map((xs) => xs.map((x) => x.blocked)),
      });
    }
  }
}

const pct = (x: number) => `${Number((x * 100).toFixed(1))}%`;
const isDefault = (r: Row) => r.test === GATE_SIGNIFICANCE.test && r.correction === GATE_SIGNIFICANCE.correction && r.maxRegression === DEFAULT_MAX_REGRESSION;
const loads = { start: loadSeen[0]!, end: loadSeen.at(-1)!, max: Math.max(...loadSeen) };
const bySet = (counts: number[]) => (counts.length > 1 ? `: ${counts.join(' + ')}` : '');
const describeSet = (g: (typeof gated)[number]) =>
  `${g.B.length} A/A and ${g.B.length} A/B pairs, ${g.repetitions} repetitions per run` +
  (useRepetitions ? ` (the first ${useRepetitions} of each stored run)` : '') +
  `; baseline servers wait ${g.baseDelay} ms per response, the regressed ${g.baseDelay + g.extraDelay} ms; ` +
  `injected regression of median latency (median over pairs): ${Object.entries(g.injected).map(([p, x]) => `${p} ${pct(x)}`).join(', ')}` +
  (stored ? `; runs made ${g.A[0]!.run.startedAt} to ${g.B.at(-1)!.run.finishedAt ?? g.B.at(-1)!.run.startedAt} (${shortPath(g.dir)})` : '');
function shortPath(dir: string): string {
  const relative = path.relative(ROOT, dir);
  return relative && !relative.startsWith('..') ? relative : dir;
}
const lines = [
  `# Gate calibration (${new Date().toISOString().slice(0, 10)})`,
  '',
  `scenarios/calibrate-loopback.yaml; targets: false alarms <= ${pct(TARGET_FALSE_ALARMS)}, detection >= ${pct(TARGET_DETECTION)}. ` +
    (stored
      ? 'Runs made earlier, gated again:'
      : `1-minute load average: ${loads.start.toFixed(2)} at the start, ${loads.end.toFixed(2)} at the end, at most ${loads.max.toFixed(2)} between runs.`),
  '',
  ...gated.map((g) => `- ${describeSet(g)}`),
  '',
  '| test | correction | --max-regression | checks per pair | A/A false alarms | A/B detections | both targets |',
  '|---|---|---:|---:|---:|---:|---|',
  ...rows.map(
    (r) =>
      `| ${r.test} | ${r.correction} | ${pct(r.maxRegression)}${isDefault(r) ? ' (default)' : ''} | ${r.familySize} | ` +
      `${pct(r.falseAlarmRate)} (${r.falseAlarms}/${pairs}${bySet(r.falseAlarmsBySet)}) | ` +
      `${pct(r.detectionRate)} (${r.detections}/${pairs}${bySet(r.detectionsBySet)}) | ${r.meetsTargets ? 'yes' : 'no'} |`,
  ),
];
const defaults = rows.find(isDefault);
if (defaults) {
  const name = (set: number, run: string) => (gated.length > 1 ? `set ${set + 1} ${run}` : run);
  lines.push('', `False alarms at the defaults (${defaults.test}, ${defaults.correction}, ${pct(defaults.maxRegression)}), by pair:`);
  defaults.falseAlarmChecks.forEach((perPair, s) => perPair.forEach((checks, i) => checks.length && lines.push(`- ${name(s, `a${i} vs a${i + 1}`)}: ${checks.join('; ')}`)));
  lines.push('', 'Missed regressions at the defaults:');
  defaults.detectedBy.forEach((perPair, s) => perPair.forEach((checks, i) => checks.length || lines.push(`- ${name(s, `a${i} vs b${i}`)}`)));
}
const stem = useRepetitions ? `calibration-first-${useRepetitions}` : 'calibration';
writeFileSync(path.join(out, `${stem}.md`), lines.join('\n') + '\n');
const setsJson = gated.map((g) => ({ dir: g.dir, pairs: g.B.length, repetitions: g.repetitions, baseDelay: g.baseDelay, extraDelay: g.extraDelay, injected: g.injected }));
writeFileSync(path.join(out, `${stem}.json`), JSON.stringify({ pairs, sets: setsJson, ...(stored ? {} : { loadAverage: loads }), rows }, null, 1) + '\n');
console.log(lines.join('\n'));
console.log(`\nwritten: ${path.join(out, `${stem}.md`)} and .json`);
