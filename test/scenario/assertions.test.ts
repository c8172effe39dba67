import { describe, expect, it } from 'vitest';
import { parseScenario } from '../../src/scenario/load.ts';

const SCENARIO = `
network: none
workloads:
  - {type: requests, name: small}
  - {type: handshake}
  - {type: multiplex}
assert:
  - h3.multiplex.latency.p99 < h2.multiplex.latency.p99
  - h3.handshake.cold.firstByte <= 2.2 rtt
  - h2.small.requestsPerSec >= 0.9 baseline
  - check: h3.small.latency.p50 < 0.8 * h1.small.latency.p50
    level: warn
  - h2.small.latency.p99 <= 1.5s
`;

describe('scenario assertions', () => {
  it('parses the three forms: another metric, a value in the metric’s unit, a multiple of the baseline', () => {
    const s = parseScenario(SCENARIO, 'gate.yaml');
    expect(s.assertions).toEqual([
      {
        text: 'h3.multiplex.latency.p99 < h2.multiplex.latency.p99',
        level: 'error',
        subject: { protocol: 'h3', workload: 'multiplex', metric: 'latency.p99' },
        operator: '<',
        bound: { kind: 'metric', factor: 1, ref: { protocol: 'h2', workload: 'multiplex', metric: 'latency.p99' } },
      },
      {
        text: 'h3.handshake.cold.firstByte <= 2.2 rtt',
        level: 'error',
        subject: { protocol: 'h3', workload: 'handshake', metric: 'cold.firstByte' },
        operator: '<=',
        bound: { kind: 'value', value: 2.2, unit: 'rtt' },
      },
      {
        text: 'h2.small.requestsPerSec >= 0.9 baseline',
        level: 'error',
        subject: { protocol: 'h2', workload: 'small', metric: 'requestsPerSec' },
        operator: '>=',
        bound: { kind: 'baseline', factor: 0.9 },
      },
      {
        text: 'h3.small.latency.p50 < 0.8 * h1.small.latency.p50',
        level: 'warn',
        subject: { protocol: 'h3', workload: 'small', metric: 'latency.p50' },
        operator: '<',
        bound: { kind: 'metric', factor: 0.8, ref: { protocol: 'h1', workload: 'small', metric: 'latency.p50' } },
      },
      {
        text: 'h2.small.latency.p99 <= 1.5s',
        level: 'error',
        subject: { protocol: 'h2', workload: 'small', metric: 'latency.p99' },
        operator: '<=',
        bound: { kind: 'value', value: 1500, unit: 'ms' },
      },
    ]);
  });

  it('has none when the scenario asserts nothing', () => {
    expect(parseScenario('network: none\nworkloads: [{type: requests}]\n', 'x.yaml').assertions).toEqual([]);
  });

  it('points at the assertion and suggests the metric, the workload or the bound', () => {
    const bad = (line: string) => {
      try {
        parseScenario(`network: none\nworkloads: [{type: handshake, name: setup}]\nassert:\n  - ${line}\n`, 'a.yaml');
      } catch (e) {
        return (e as Error).message;
      }
      return 'accepted';
    };
    expect(bad('h3.setup.cold.firstbyte <= 2 rtt')).toMatch(/^a\.yaml:4:5: assert\[0\]: unknown metric `cold\.firstbyte`.*Did you mean `cold\.firstByte`\?$/);
    expect(bad('h3.setup.cold.firstByteMs <= 2 rtt')).toMatch(/in ms, `2 rtt` in round trips.*assert on `cold\.firstByte` \(in RTTs\)/);
    expect(bad('h3.setup.cold.firstByte <= 0.9 baselin')).toMatch(/Did you mean `baseline`\?/);
    expect(bad('h3.setup.cold.firstByte <= 2 ms')).toMatch(/`cold\.firstByte` is in rtt, not `ms`/);
    expect(bad('h3.setup.cold.firstByte < h2.setup.cold.firstByteMs')).toMatch(/in different units/);
    expect(bad('the handshake should be fast')).toMatch(/is not a comparison/);
  });
});
