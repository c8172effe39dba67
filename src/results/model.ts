/**
 * result.json: the contract between gathering (runner) and everything that reads results
 * (report.html, compare, the CI gate). Readers use only this file (and raw.jsonl for detail views).
 * Bump SCHEMA_VERSION on any incompatible change.
 */
import type { Protocol, TransportStats } from '../drivers/types.ts';
import type { FidelityReport, LinkCounters } from '../../netem/types.ts';
import type { NetworkSpec } from '../../netem/model.ts';
import type { MetricHistogram } from '../metrics/histogram.ts';
import type { WorkloadDetails } from './details.ts';

export const SCHEMA_VERSION = 1;

/** A latency (or other) distribution: summary numbers plus the encoded HdrHistogram for merging. */
export type { MetricHistogram };

/** One (network, protocol, workload, repetition) measurement. */
export interface Cell {
  network: string;
  protocol: Protocol;
  workload: string;
  workloadType: string;
  repetition: number;
  /** Position in the interleaved run order (0-based). */
  order: number;
  durationMs: number;
  requests: { total: number; ok: number; failed: number; bytes: number };
  /** Completed requests per second and response-body goodput over the cell's duration. */
  requestsPerSec: number;
  goodputBps: number;
  connections: { opened: number; resumed: number; earlyData: number };
  /** Named distributions, e.g. latency, ttfb, connect, tls. */
  metrics: Record<string, MetricHistogram>;
  /** CPU time the server process spent on this cell (user+system). */
  serverCpuMs?: number;
  clientCpuMs?: number;
  transport?: TransportStats;
  link?: LinkCounters;
  /** Workload-specific figures, keyed by workload type (src/results/details.ts). */
  details?: WorkloadDetails;
  /** Set when the cell could not complete; the other figures cover what finished. */
  error?: string;
}

/** A statistic of one metric across repetitions, with its 95% confidence interval. */
export interface Summary {
  network: string;
  protocol: Protocol;
  workload: string;
  /** e.g. "latency.p50", "latency.p99", "requestsPerSec". */
  metric: string;
  unit: string;
  values: number[];
  median: number;
  mean: number;
  ci95: [number, number];
  /**
   * How ci95 was computed: 'bootstrap' = percentile bootstrap of the median (5+ repetitions);
   * 'range' = min..max of the repetitions (2 to 4: too few for an interval); 't' = Student's t
   * interval of the mean; 'none' = one repetition.
   */
  ciMethod: 't' | 'bootstrap' | 'range' | 'none';
}

export interface Warning {
  level: 'info' | 'warn' | 'error';
  code: string;
  message: string;
  network?: string;
  protocol?: Protocol;
  workload?: string;
}

export interface NetworkVariantResult {
  label: string;
  spec: NetworkSpec;
  /** Backend actually used ('none' = plain loopback, not shaped). */
  backend: 'kernel' | 'userspace' | 'none';
}

export interface RunResult {
  schemaVersion: typeof SCHEMA_VERSION;
  tool: { name: 'bench'; version: string; dependencies: Record<string, string> };
  run: {
    id: string;
    startedAt: string;
    finishedAt?: string;
    durationMs?: number;
    argv: string[];
    seed: number;
    status: 'complete' | 'partial' | 'failed';
    error?: string;
  };
  environment: {
    node: string;
    platform: string;
    kernel: string;
    cpu: { model: string; cores: number };
    memoryBytes: number;
    emulator: { backend: 'kernel' | 'userspace' | 'none'; shaped: boolean; fidelity?: FidelityReport };
  };
  /** The resolved scenario (units converted, profiles expanded), as JSON. */
  scenario: Record<string, unknown> & { name: string; file: string };
  networks: NetworkVariantResult[];
  cells: Cell[];
  summaries: Summary[];
  warnings: Warning[];
}
