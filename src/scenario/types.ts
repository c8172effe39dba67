/**
 * The resolved scenario: what the runner and workloads consume. Base units everywhere
 * (milliseconds, bytes, bits/s, fractions); profiles expanded; sweeps expanded into networks.
 * Field names match the workload spec types in src/workloads/ (sizes are bytes).
 */
import type { NetworkSpec } from '../../netem/model.ts';
import type { Protocol } from '../drivers/types.ts';

export type HandshakeMode = 'cold' | 'resumed' | '0rtt';
export const HANDSHAKE_MODES: readonly HandshakeMode[] = ['cold', 'resumed', '0rtt'];

export interface RequestsWorkloadSpec {
  type: 'requests';
  name: string;
  /** Measured requests. */
  requests: number;
  /** Requests in flight at once (closed loop). */
  concurrency: number;
  /** h2/h3 connections; h1 uses one pool of up to h1PoolSize connections per "connection". */
  connections: number;
  h1PoolSize: number;
  /** Response sizes in bytes, cycled over the requests. */
  sizes: number[];
  /** Requests sent first and not measured. */
  warmup: number;
}

export interface HandshakeWorkloadSpec {
  type: 'handshake';
  name: string;
  modes: HandshakeMode[];
  /** New connections per mode. */
  connections: number;
  /** How many at once (1 = one after another). */
  parallel: number;
  /** Size of the one object each connection fetches, bytes. */
  size: number;
}

export interface MultiplexWorkloadSpec {
  type: 'multiplex';
  name: string;
  /** Concurrent requests per round. */
  requests: number;
  /** Response sizes in bytes, cycled over the requests. */
  sizes: number[];
  rounds: number;
  /** Also measure the same requests with loss removed from the link (the HOL baseline). */
  reference: boolean;
  h1PoolSize: number;
}

export interface PageWorkloadSpec {
  type: 'page';
  name: string;
  /** Subresources per document. */
  resources: number;
  /** Levels of documents naming further subresources (1 = HTML + its resources). */
  depth: number;
  /** Bytes. */
  sizes: { html: number; resource: number };
  /** Page loads, each on fresh connections. */
  loads: number;
  h1PoolSize: number;
}

export type WorkloadSpec = RequestsWorkloadSpec | HandshakeWorkloadSpec | MultiplexWorkloadSpec | PageWorkloadSpec;
export type WorkloadType = WorkloadSpec['type'];
export const WORKLOAD_TYPES: readonly WorkloadType[] = ['requests', 'handshake', 'multiplex', 'page'];

export interface ExternalTarget {
  url: string;
  /** Skip certificate verification (self-signed certificates). */
  insecure: boolean;
}

export type ServersSpec =
  | { kind: 'builtin' }
  | { kind: 'external'; targets: Partial<Record<Protocol, ExternalTarget>> };

export type SweepKey = 'rtt' | 'delay' | 'jitter' | 'loss' | 'rate';
export const SWEEP_KEYS: readonly SweepKey[] = ['rtt', 'delay', 'jitter', 'loss', 'rate'];

export interface NetworkVariant {
  /** `none`, a profile name, `custom`, or with a sweep `rtt=100ms`. */
  label: string;
  spec: NetworkSpec;
  /** With a sweep: the swept value in base units (ms, fraction, bits/s). */
  sweepValue?: number;
}

export interface Scenario {
  /** The file it was loaded from, as given. */
  file: string;
  name: string;
  description: string;
  protocols: Protocol[];
  repetitions: number;
  seed: number;
  networks: NetworkVariant[];
  /** Present when the scenario sweeps a link value: which one (the networks carry the values). */
  sweep?: { key: SweepKey; unit: 'ms' | 'fraction' | 'bps' };
  servers: ServersSpec;
  workloads: WorkloadSpec[];
  timeouts: { requestMs: number; cellMs: number };
}

/** CLI flags that override the file. */
export interface ScenarioOverrides {
  repetitions?: number;
  protocols?: Protocol[];
  seed?: number;
}
