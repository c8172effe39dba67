/**
 * A scenario's `assert:` entries once parsed (src/scenario/assertions.ts): part of the resolved
 * scenario, so result.json carries them and `bench gate` evaluates a result made elsewhere with
 * the assertions it was made under.
 */
import type { Protocol } from '../drivers/types.ts';
import type { MetricUnit } from './catalogue.ts';

/** `h3.multiplex.latency.p99`: a metric of one workload over one protocol. */
export interface MetricRef {
  protocol: Protocol;
  /** The workload's name in the scenario. */
  workload: string;
  /** A catalogue metric id of that workload's type. */
  metric: string;
}

export type AssertionOperator = '<' | '<=' | '>' | '>=';

export type AssertionBound =
  /** `<= 2.2 rtt`, `< 150ms`: a value in the metric's own unit. */
  | { kind: 'value'; value: number; unit: MetricUnit }
  /** `< h2.multiplex.latency.p99`, `< 0.8 h2.multiplex.latency.p99`: a multiple of another metric of the same run. */
  | { kind: 'metric'; factor: number; ref: MetricRef }
  /** `>= 0.9 baseline`: a multiple of the same metric in the baseline run. */
  | { kind: 'baseline'; factor: number };

export type AssertionLevel = 'warn' | 'error';

export interface Assertion {
  /** As written in the scenario (or generated, for --max-regression). */
  text: string;
  level: AssertionLevel;
  subject: MetricRef;
  operator: AssertionOperator;
  bound: AssertionBound;
}
