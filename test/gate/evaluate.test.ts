/**
 * The gate over results made by the real workloads on simulated drivers (textbook round trips,
 * head-of-line blocking under loss) and over synthetic results with a known injected change.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { evaluateGate, isBlocking, significanceText } from '../../src/gate/evaluate.ts';
import { renderGateMarkdown, renderGateText, renderJUnit } from '../../src/gate/report.ts';
import { regressionAssertions } from '../../src/gate/regression.ts';
import { median } from '../../src/metrics/stats.ts';
import type { Assertion } from '../../src/results/assertions.ts';
import type { Cell, RunResult } from '../../src/results/model.ts';
import { parseScenario } from '../../src/scenario/load.ts';
import { fixtureResult } from '../report/fixture.ts';
import { handshakeFixture, multiplexFixture } from '../report/workloads-fixture.ts';

function assertions(workloads: string, lines: string[]): Assertion[] {
  return parseScenario(`network: none\nworkloads: ${workloads}\nassert:\n${lines.map((l) => `  - "${l}"`).join('\n')}\n`, 'gate.yaml').assertions;
}

const evaluateAssertions = (...args: Parameters<typeof evaluateGate>) => evaluateGate(...args).checks;

function scaled(result: RunResult, f: (c: Cell) => void): RunResult {
  const copy = structuredClone(result);
  copy.cells.forEach(f);
  return copy;
}

describe('gate: a value bound', () => {
  let handshake: RunResult;
  beforeAll(async () => {
    handshake = (await handshakeFixture({ rttsMs: [100], repetitions: 5, connections: 4 })).result;
  }, 120_000);

  it('passes QUIC’s 2-RTT cold handshake under 2.2 RTT and fails TCP+TLS’s 3 RTT, with the median and interval of the repetitions', () => {
    const checks = evaluateAssertions(
      assertions('[{type: handshake, name: setup}]', ['h3.setup.cold.firstByte <= 2.2 rtt', 'h1.setup.cold.firstByte <= 2.2 rtt', 'h3.setup.0rtt.firstByte <= 1.2 rtt']),
      handshake,
    );
    expect(checks.map((c) => c.verdict)).toEqual(['pass', 'fail', 'pass']);
    const tcp = checks[1]!;
    const perRep = handshake.cells.filter((c) => c.protocol === 'h1').map((c) => c.details!.handshake!.modes.cold as { phases: { firstByte: { medianRtt: number } } });
    expect(tcp.found).toBe(`${median(perRep.map((m) => m.phases.firstByte.medianRtt)).toFixed(2)} RTT (median of 5)`);
    expect(tcp.interval).toMatch(/^\d\.\d+ RTT to \d\.\d+ RTT \(95% CI\)$/);
    expect(isBlocking(tcp)).toBe(true);
  });
});

describe('gate: a ratio to another metric or the baseline', () => {
  it('finds HTTP/3’s p99 below HTTP/2’s under 2% loss (head-of-line blocking), as the ratio of their medians', async () => {
    // 100 requests x 10 rounds: the 1,000 samples per repetition a p99 needs.
    const hol = (await multiplexFixture({ repetitions: 5, requests: 100, rounds: 10 })).result;
    const [ok] = evaluateAssertions(assertions('[{type: multiplex, name: hol}]', ['h3.hol.latency.p99 < h2.hol.latency.p99']), hol);
    const p99 = (p: string) => median(hol.cells.filter((c) => c.protocol === p).map((c) => c.metrics.latency!.p99));
    expect(p99('h3')).toBeLessThan(p99('h2'));
    expect(ok!.verdict).toBe('pass');
    expect(ok!.found).toContain(`${(p99('h3') / p99('h2')).toFixed(3)} x`);
  }, 120_000);

  it('fails a protocol comparison only when the other protocol is significantly better', () => {
    // The synthetic profile: HTTP/2 has four times HTTP/3's share of slow requests.
    const result = fixtureResult({ repetitions: 6, requestsPerCell: 1000, seed: 5 });
    const checks = evaluateAssertions(assertions('[{type: requests, name: small-objects}]', ['h2.small-objects.latency.p99 < h3.small-objects.latency.p99', 'h3.small-objects.latency.p99 < h2.small-objects.latency.p99']), result);
    expect(checks.map((c) => c.verdict)).toEqual(['fail', 'pass']);
  });

  const baseline = fixtureResult({ repetitions: 6, requestsPerCell: 1000, seed: 11 });
  const gate = (candidate: RunResult, lines: string[]) => evaluateAssertions(assertions('[{type: requests, name: small-objects}]', lines), candidate, baseline);

  it('fails a 40% slower p99 beyond a 10% tolerance, and passes the unchanged run', () => {
    const slower = scaled(baseline, (c) => (c.metrics.latency!.p99 *= 1.4));
    expect(gate(slower, ['h2.small-objects.latency.p99 <= 1.1 baseline']).map((c) => c.verdict)).toEqual(['fail']);
    expect(gate(baseline, ['h2.small-objects.latency.p99 <= 1.1 baseline']).map((c) => c.verdict)).toEqual(['pass']);
    const halfThroughput = scaled(baseline, (c) => (c.requestsPerSec /= 2));
    const [check] = gate(halfThroughput, ['h2.small-objects.requestsPerSec >= 0.9 baseline']);
    expect(check!.verdict).toBe('fail');
    expect(check!.found).toMatch(/^0\.500 x \(-50(\.0)?%/);
  });

  it('calls a violation within the noise inconclusive, never a failure', () => {
    // Medians 102.5 -> 115 (+12%, beyond the 10% tolerance), but the repetitions overlap widely.
    const p99 = (result: RunResult, values: number[]) =>
      scaled(result, (c) => {
        if (c.protocol === 'h2') c.metrics.latency!.p99 = values[c.repetition]!;
      });
    const base = p99(baseline, [90, 95, 100, 105, 110, 115]);
    const candidate = p99(baseline, [85, 100, 112, 118, 125, 140]);
    const [check] = evaluateAssertions(assertions('[{type: requests, name: small-objects}]', ['h2.small-objects.latency.p99 <= 1.1 baseline']), candidate, base);
    expect(check!.found).toMatch(/^1\.122 x/);
    expect(check!.verdict).toBe('inconclusive');
    expect(isBlocking(check!)).toBe(false);
  });

  it('needs a baseline for baseline bounds, and 5 repetitions for a ratio verdict', () => {
    const [noBaseline] = evaluateAssertions(assertions('[{type: requests, name: small-objects}]', ['h2.small-objects.latency.p99 <= 1.1 baseline']), baseline);
    expect(noBaseline!.verdict).toBe('no baseline');
    expect(isBlocking(noBaseline!)).toBe(false);
    const few = fixtureResult({ repetitions: 3, requestsPerCell: 300 });
    const slower = scaled(few, (c) => (c.metrics.latency!.p50 *= 2));
    const [check] = evaluateAssertions(assertions('[{type: requests, name: small-objects}]', ['h2.small-objects.latency.p50 <= 1.1 baseline']), slower, few);
    expect(check!.verdict).toBe('too few repetitions');
  });

  it('gives no verdict on a percentile with fewer than 10 samples beyond it per repetition', () => {
    const small = fixtureResult({ repetitions: 6, requestsPerCell: 300 });
    const slower = scaled(small, (c) => (c.metrics.latency!.p99 *= 2));
    const [p99, p90] = evaluateAssertions(
      assertions('[{type: requests, name: small-objects}]', ['h2.small-objects.latency.p99 <= 1.1 baseline', 'h2.small-objects.latency.p90 <= 2 baseline']),
      slower,
      small,
    );
    expect(p99!.verdict).toBe('too few samples');
    expect(p99!.note).toBe('latency.p99 needs 1,000 samples per repetition (10 beyond the percentile); the fewest here is 300');
    expect(isBlocking(p99!)).toBe(false);
    // A p90 needs 100: 300 are enough.
    expect(p90!.verdict).toBe('pass');
  });

  it('--max-regression checks every headline metric in its own direction', () => {
    const generated = regressionAssertions(baseline, baseline, 0.1);
    expect(generated.map((a) => a.text)).toEqual(
      ['h1', 'h2', 'h3'].flatMap((p) => [`${p}.small-objects.requestsPerSec >= 0.9 baseline`, `${p}.small-objects.latency.p50 <= 1.1 baseline`, `${p}.small-objects.latency.p99 <= 1.1 baseline`]),
    );
    const slower = scaled(baseline, (c) => {
      if (c.protocol === 'h3') c.metrics.latency!.p50 *= 1.3;
    });
    const failed = evaluateAssertions(generated, slower, baseline).filter(isBlocking).map((c) => c.assertion.text);
    expect(failed).toEqual(['h3.small-objects.latency.p50 <= 1.1 baseline']);
  });
});

describe('gate: the family of checks against the baseline (Holm)', () => {
  // 300 requests per repetition: a p99 gets no verdict, so --max-regression gives a family of 6
  // (requestsPerSec and latency.p50 of three protocols).
  const baseline = fixtureResult({ repetitions: 6, requestsPerCell: 300, seed: 31 });
  const p50 = (result: RunResult, protocol: string, values: number[]) =>
    scaled(result, (c) => {
      if (c.protocol === protocol) c.metrics.latency!.p50 = values[c.repetition]!;
    });
  const base = p50(p50(baseline, 'h1', [10, 10.2, 10.4, 10.6, 10.8, 11]), 'h2', [10, 10.2, 10.4, 10.6, 10.8, 11]);
  // h1: +12.4% by the medians, one repetition below the baseline's: exact Mann-Whitney p = 38/924 (SciPy 0.041126).
  // h2: +14.3%, every repetition above the baseline's: p = 2/924 (0.0021645). The other four are unchanged: p = 1.
  const candidate = p50(p50(base, 'h1', [11.5, 11.7, 11.9, 12.1, 12.3, 10.1]), 'h2', [11.5, 11.7, 11.9, 12.1, 12.3, 12.5]);
  const generated = regressionAssertions(candidate, base, 0.1);
  const byText = (checks: ReturnType<typeof evaluateAssertions>, text: string) => checks.find((c) => c.assertion.text === text)!;

  it('adjusts the p-values of the family together: Holm by hand over 6 checks', () => {
    const { checks, family } = evaluateGate(generated, candidate, base, { test: 'mann-whitney' });
    expect(family).toEqual({ test: 'mann-whitney', correction: 'holm', alpha: 0.05, size: 6 });
    const h1 = byText(checks, 'h1.small-objects.latency.p50 <= 1.1 baseline');
    const h2 = byText(checks, 'h2.small-objects.latency.p50 <= 1.1 baseline');
    expect(h1.p).toBeCloseTo(38 / 924, 12);
    expect(h2.p).toBeCloseTo(2 / 924, 12);
    // Sorted: 2/924 x 6 = 0.013; 38/924 x 5 = 0.206; then 1 x 4 ... capped at 1.
    expect(h2.adjustedP).toBeCloseTo(12 / 924, 12);
    expect(h1.adjustedP).toBeCloseTo(190 / 924, 12);
    expect(checks.filter((c) => c.adjustedP !== undefined).map((c) => c.adjustedP === 1).filter(Boolean)).toHaveLength(4);
    expect(h2.verdict).toBe('fail');
    expect(h1.verdict).toBe('inconclusive');
    expect(h1.note).toBe('violated by the medians, significant alone (p 0.041) but not after Holm over 6 checks (adjusted p 0.21)');
    expect(checks.filter(isBlocking).map((c) => c.assertion.text)).toEqual(['h2.small-objects.latency.p50 <= 1.1 baseline']);
  });

  it('without the correction, each check is judged at alpha alone', () => {
    const { checks, family } = evaluateGate(generated, candidate, base, { test: 'mann-whitney', correction: 'none' });
    expect(family.size).toBe(6);
    expect(checks.every((c) => c.adjustedP === undefined)).toBe(true);
    expect(checks.filter(isBlocking).map((c) => c.assertion.text)).toEqual(['h1.small-objects.latency.p50 <= 1.1 baseline', 'h2.small-objects.latency.p50 <= 1.1 baseline']);
  });

  it('counts only error-level checks against the baseline that got a test; the others are judged alone', () => {
    const own = assertions('[{type: requests, name: small-objects}]', [
      'h1.small-objects.latency.p50 < 1.1 h3.small-objects.latency.p50', // another metric: not in the family
      'h1.small-objects.latency.p99 <= 1.1 baseline', // too few samples: no test
    ]);
    const warn = { ...generated.find((a) => a.text === 'h1.small-objects.latency.p50 <= 1.1 baseline')!, level: 'warn' as const };
    const { checks, family } = evaluateGate([...own, warn, ...generated], candidate, base, { test: 'mann-whitney' });
    expect(family.size).toBe(6);
    expect(checks[0]!.adjustedP).toBeUndefined();
    expect(checks[1]!.verdict).toBe('too few samples');
    // The warn-level copy of the h1 check is judged at alpha alone: a (non-blocking) failure.
    expect(checks[2]!.verdict).toBe('fail');
    expect(checks[2]!.adjustedP).toBeUndefined();
    expect(isBlocking(checks[2]!)).toBe(false);
  });

  it('states the method and the family size in every output', () => {
    const evaluation = evaluateGate(generated, candidate, base, { test: 'mann-whitney' });
    const line = 'significance: Holm over 6 checks against the baseline, alpha 0.05 (p-values: Mann-Whitney U, exact, two-sided)';
    expect(significanceText(evaluation.family)).toBe(line);
    expect(renderGateText(evaluation).split('\n')[1]).toBe(line);
    expect(renderGateText(evaluation)).toContain('p 0.0022 (Holm-adjusted 0.013)');
    expect(renderGateMarkdown(evaluation)).toContain(`\n${line}\n`);
    const junit = renderJUnit(evaluation);
    expect(junit).toContain(`<property name="significance" value="${line}"/>`);
    expect(junit).toMatch(/<failure message="fail: [^"]*p 0\.0022 \(Holm-adjusted 0\.013\); significance: Holm over 6 checks/);
    expect(significanceText(evaluateGate(generated, candidate, base, { correction: 'none' }).family)).toBe(
      'significance: alpha 0.05 per check, no correction over the 6 checks against the baseline (p-values: bootstrap of the ratio of medians, two-sided)',
    );
    expect(significanceText(evaluateGate(assertions('[{type: requests, name: small-objects}]', ['h1.small-objects.latency.p50 < 2 h3.small-objects.latency.p50']), candidate).family)).toBe(
      'significance: alpha 0.05 per check (p-values: bootstrap of the ratio of medians, two-sided); no checks against the baseline',
    );
  });

  it('warns when the test cannot reach the p-value Holm needs with these repetitions', () => {
    // 6 and 6 repetitions: Mann-Whitney's smallest p is 2/924 = 0.0022; Holm at alpha 0.01 over 6 needs 0.0017.
    const { checks, family } = evaluateGate(generated, candidate, base, { test: 'mann-whitney', alpha: 0.01 });
    expect(family.powerless).toBe(
      "the Mann-Whitney U test's smallest p-value with these repetitions is 0.0022, above the 0.0017 Holm needs for the first of 6 checks: no check against the baseline can fail; give the runs more repetitions",
    );
    expect(checks.some(isBlocking)).toBe(false);
    expect(evaluateGate(generated, candidate, base, { test: 'mann-whitney' }).family.powerless).toBeUndefined();
    expect(evaluateGate(generated, candidate, base, { alpha: 0.01 }).family.powerless).toBeUndefined();
  });
});
