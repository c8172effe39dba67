/**
 * `npm run calibrate`: how often the stored-baseline gate cries wolf, and how often it catches a
 * known regression, on this machine. Runs scenarios/calibrate-loopback.yaml (network: none) over
 * and over, alternating the baseline build (servers wait --base-delay before every response) and
 * a regressed one (--base-delay + --extra-delay, about 15% of the median latency), then gates:
 *
 *   A/A pairs  (baseline run i, baseline run i+1): any blocking check is a false alarm;
 *   A/B pairs  (baseline run i, regressed run i):  any blocking check is a detection;
 *
 * for several --max-regression values, all from the same runs (evaluation is offline).
 *
 *   npm run calibrate -- [--pairs 20] [--repetitions 5] [--base-delay 5] [--extra-delay 1] [--out DIR]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { evaluateAssertions, isBlocking } from '../../src/gate/evaluate.ts';
import { regressionAssertions } from '../../src/gate/regression.ts';
import { median } from '../../src/metrics/stats.ts';
import type { RunResult } from '../../src/results/model.ts';
import { calibrationRun, ROOT } from './calibrate-run.ts';

const THRESHOLDS = [0.05, 0.1, 0.15];

const { values: args } = parseArgs({
  options: {
    pairs: { type: 'string', default: '20' },
    repetitions: { type: 'string', default: '5' },
    'base-delay': { type: 'string', default: '5' },
    'extra-delay': { type: 'string', default: '1' },
    out: { type: 'string', default: path.join(ROOT, 'reports', 'calibrate', new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19)) },
  },
});
const pairs = Number(args.pairs);
const repetitions = Number(args.repetitions);
const baseDelay = Number(args['base-delay']);
const extraDelay = Number(args['extra-delay']);
const out = path.resolve(args.out);
mkdirSync(out, { recursive: true });

const run = (name: string, delayMs: number): RunResult => calibrationRun(path.join(out, name), { repetitions, delayMs });

process.stderr.write(`calibrating: ${pairs} pairs, ${repetitions} repetitions per run, server delay ${baseDelay} ms vs ${baseDelay + extraDelay} ms; runs in ${out}\n`);
const baselines: RunResult[] = [];
const regressed: RunResult[] = [];
// Interleaved, so machine drift falls on both builds alike.
for (let i = 0; i <= pairs; i++) {
  baselines.push(run(`a${i}`, baseDelay));
  if (i < pairs) regressed.push(run(`b${i}`, baseDelay + extraDelay));
}

const blocked = (baseline: RunResult, candidate: RunResult, threshold: number) =>
  evaluateAssertions(regressionAssertions(candidate, baseline, threshold), candidate, baseline, { seed: candidate.run.seed }).filter(isBlocking);

/** The regression the extra delay caused: per protocol, the median over pairs of the p50 ratio. */
const p50 = (r: RunResult, protocol: string) => median(r.cells.filter((c) => c.protocol === protocol && !c.error).map((c) => c.metrics.latency!.p50));
const injected = Object.fromEntries(
  ['h1', 'h2', 'h3'].map((p) => [p, median(regressed.map((b, i) => p50(b, p) / p50(baselines[i]!, p) - 1))]),
);

const rows = THRESHOLDS.map((threshold) => {
  const falseAlarms = baselines.slice(0, -1).map((a, i) => blocked(a, baselines[i + 1]!, threshold));
  const detections = regressed.map((b, i) => blocked(baselines[i]!, b, threshold));
  return {
    maxRegression: threshold,
    falseAlarmRate: falseAlarms.filter((f) => f.length > 0).length / falseAlarms.length,
    detectionRate: detections.filter((d) => d.length > 0).length / detections.length,
    falseAlarmChecks: falseAlarms.flat().map((c) => c.assertion.text),
    detectedBy: detections.flat().map((c) => c.assertion.text),
  };
});

const pct = (x: number) => `${(x * 100).toFixed(0)}%`;
const lines = [
  `# Gate calibration (${new Date().toISOString().slice(0, 10)})`,
  '',
  `${pairs} A/A and ${pairs} A/B pairs of scenarios/calibrate-loopback.yaml, ${repetitions} repetitions per run; ` +
    `baseline servers wait ${baseDelay} ms per response, the regressed ${baseDelay + extraDelay} ms. ` +
    `Injected regression of median latency (median over pairs): ${Object.entries(injected).map(([p, x]) => `${p} ${pct(x)}`).join(', ')}.`,
  '',
  '| --max-regression | A/A false-alarm rate | A/B detection rate |',
  '|---:|---:|---:|',
  ...rows.map((r) => `| ${pct(r.maxRegression)} | ${pct(r.falseAlarmRate)} (${Math.round(r.falseAlarmRate * pairs)}/${pairs}) | ${pct(r.detectionRate)} (${Math.round(r.detectionRate * pairs)}/${pairs}) |`),
];
writeFileSync(path.join(out, 'calibration.md'), lines.join('\n') + '\n');
writeFileSync(path.join(out, 'calibration.json'), JSON.stringify({ pairs, repetitions, baseDelay, extraDelay, injected, rows }, null, 2));
console.log(lines.join('\n'));
console.log(`\nfalse alarms by check at 10%: ${JSON.stringify(count(rows[1]!.falseAlarmChecks))}`);
console.log(`detections by check at 10%: ${JSON.stringify(count(rows[1]!.detectedBy))}`);

function count(texts: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const t of texts) out[t] = (out[t] ?? 0) + 1;
  return out;
}
