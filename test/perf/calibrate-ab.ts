/**
 * `npm run calibrate:ab`: the gate of `bench ab` (baseline and candidate interleaved in one
 * sitting) calibrated as `npm run calibrate` calibrates the stored-baseline gate. Per comparison k,
 * three streams of single-repetition runs of scenarios/calibrate-loopback.yaml are interleaved
 * round by round, the order rotated per round so each stream takes each position equally often:
 *
 *   A   servers wait --base-delay                       (the baseline)
 *   A'  servers wait --base-delay                       (the same build again)
 *   B   servers wait --base-delay + --extra-delay       (the injected regression)
 *
 * Each stream's --ab-pairs runs are gathered as `bench ab` gathers them (mergeRuns), then gated
 * offline at several --max-regression values: A/A = A against A' (any blocking check is a false
 * alarm), A/B = A against B (any blocking check is a detection).
 *
 *   npm run calibrate:ab -- [--pairs 5] [--ab-pairs 5] [--base-delay 5] [--extra-delay 1] [--out DIR]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { evaluateGate, isBlocking } from '../../src/gate/evaluate.ts';
import { regressionAssertions } from '../../src/gate/regression.ts';
import { median } from '../../src/metrics/stats.ts';
import type { RunResult } from '../../src/results/model.ts';
import { mergeRuns } from '../../src/runner/interleave.ts';
import { rotate } from '../../src/runner/plan.ts';
import { calibrationRun, ROOT } from './calibrate-run.ts';
const THRESHOLDS = [0.05, 0.1, 0.15];

const { values: args } = parseArgs({
  options: {
    pairs: { type: 'string', default: '5' },
    'ab-pairs': { type: 'string', default: '5' },
    'base-delay': { type: 'string', default: '5' },
    'extra-delay': { type: 'string', default: '1' },
    out: { type: 'string', default: path.join(ROOT, 'reports', 'calibrate-ab', new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19)) },
  },
});
const pairs = Number(args.pairs);
const abPairs = Number(args['ab-pairs']);
const baseDelay = Number(args['base-delay']);
const extraDelay = Number(args['extra-delay']);
const out = path.resolve(args.out);
mkdirSync(out, { recursive: true });

type Stream = 'A' | 'A2' | 'B';
const delayOf: Record<Stream, number> = { A: baseDelay, A2: baseDelay, B: baseDelay + extraDelay };

const run = (name: string, delayMs: number): RunResult => calibrationRun(path.join(out, name), { repetitions: 1, delayMs });

const merge = (runs: RunResult[], role: 'baseline' | 'candidate') =>
  mergeRuns(runs, { role, order: 'ABBA', pairs: runs.length, builds: { baseline: ROOT, candidate: ROOT }, runs: [] }, []);

process.stderr.write(
  `calibrating bench ab: ${pairs} comparisons of ${abPairs} interleaved runs per stream (A, A', B), server delay ${baseDelay} ms vs ${baseDelay + extraDelay} ms; runs in ${out}\n`,
);
const experiments: Record<Stream, RunResult>[] = [];
for (let k = 0; k < pairs; k++) {
  const streams: Record<Stream, RunResult[]> = { A: [], A2: [], B: [] };
  const started = Date.now();
  for (let round = 0; round < abPairs; round++) {
    for (const s of rotate<Stream>(['A', 'B', 'A2'], k * abPairs + round)) streams[s].push(run(`k${k}/r${round}-${s}`, delayOf[s]));
  }
  experiments.push({ A: merge(streams.A, 'baseline'), A2: merge(streams.A2, 'candidate'), B: merge(streams.B, 'candidate') });
  process.stderr.write(`  comparison ${k + 1}/${pairs}: ${((Date.now() - started) / 1000).toFixed(0)} s\n`);
}

const blocked = (baseline: RunResult, candidate: RunResult, threshold: number) =>
  evaluateGate(regressionAssertions(candidate, baseline, threshold), candidate, baseline, { seed: candidate.run.seed }).checks.filter(isBlocking);

/** The regression the extra delay caused: per protocol, the median over comparisons of the ratio of p50 medians. */
const p50 = (r: RunResult, protocol: string) => median(r.cells.filter((c) => c.protocol === protocol && !c.error).map((c) => c.metrics.latency!.p50));
const injected = Object.fromEntries(['h1', 'h2', 'h3'].map((p) => [p, median(experiments.map((e) => p50(e.B, p) / p50(e.A, p) - 1))]));

const rows = THRESHOLDS.map((threshold) => {
  const falseAlarms = experiments.map((e) => blocked(e.A, e.A2, threshold));
  const detections = experiments.map((e) => blocked(e.A, e.B, threshold));
  return {
    maxRegression: threshold,
    falseAlarms: falseAlarms.filter((f) => f.length > 0).length,
    detections: detections.filter((d) => d.length > 0).length,
    falseAlarmChecks: falseAlarms.flat().map((c) => c.assertion.text),
    detectedBy: detections.flat().map((c) => c.assertion.text),
  };
});

const pct = (n: number) => `${((100 * n) / pairs).toFixed(0)}%`;
const lines = [
  `# bench ab calibration (${new Date().toISOString().slice(0, 10)})`,
  '',
  `${pairs} A/A and ${pairs} A/B comparisons of scenarios/calibrate-loopback.yaml, each of ${abPairs} interleaved single-repetition runs per build; ` +
    `baseline servers wait ${baseDelay} ms per response, the regressed ${baseDelay + extraDelay} ms. ` +
    `Injected regression of median latency (median over comparisons): ${Object.entries(injected).map(([p, x]) => `${p} ${(x * 100).toFixed(1)}%`).join(', ')}.`,
  '',
  '| --max-regression | A/A false-alarm rate | A/B detection rate |',
  '|---:|---:|---:|',
  ...rows.map((r) => `| ${(r.maxRegression * 100).toFixed(0)}% | ${pct(r.falseAlarms)} (${r.falseAlarms}/${pairs}) | ${pct(r.detections)} (${r.detections}/${pairs}) |`),
];
writeFileSync(path.join(out, 'calibration.md'), lines.join('\n') + '\n');
writeFileSync(path.join(out, 'calibration.json'), JSON.stringify({ pairs, abPairs, baseDelay, extraDelay, injected, rows }, null, 2));
console.log(lines.join('\n'));
for (const r of rows) {
  console.log(`\nat ${(r.maxRegression * 100).toFixed(0)}%: false alarms by check ${JSON.stringify(count(r.falseAlarmChecks))}; detections by check ${JSON.stringify(count(r.detectedBy))}`);
}

function count(texts: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const t of texts) out[t] = (out[t] ?? 0) + 1;
  return out;
}
