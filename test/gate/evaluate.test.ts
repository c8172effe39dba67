/**
 * The gate over results made by the real workloads on simulated drivers (textbook round trips,
 * head-of-line blocking under loss) and over synthetic results with a known injected change.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { evaluateAssertions, isBlocking } from '../../src/gate/evaluate.ts';
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
