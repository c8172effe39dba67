/**
 * The resolved scenario: what the runner and workloads consume. Base units everywhere
 * (milliseconds, bytes, bits/s, fractions); profiles expanded; sweeps expanded into networks.
 * Field names match the workload spec types in src/workloads/ (sizes are bytes).
 */
import type { StreamScheduling } from '../../servers/handler-types.ts';
import type { NetworkSpec } from '../../netem/model.ts';
import type { Protocol } from '../drivers/types.ts';
import type { Assertion } from '../results/assertions.ts';
import type { StudyReference } from '../results/reference.ts';
import type { TlsKeyType } from '../tls/key-types.ts';

// Workload specs are defined by the workloads that run them (src/workloads/); the scenario layer
// validates YAML into these shapes.
import type { HandshakeMode, HandshakeSpec } from '../workloads/handshake.ts';
import type { LoadSpec } from '../workloads/load.ts';
import type { MigrationSpec } from '../workloads/migration.ts';
import type { MultiplexSpec } from '../workloads/multiplex.ts';
import type { PageSpec } from '../workloads/page.ts';
import type { RequestsSpec } from '../workloads/requests.ts';
import type { ThroughputSpec } from '../workloads/throughput.ts';

export type { HandshakeMode };
export { HANDSHAKE_MODES } from '../results/handshake-theory.ts';
export { MIGRATION_MODES } from '../results/migration-theory.ts';
export type RequestsWorkloadSpec = RequestsSpec;
export type HandshakeWorkloadSpec = HandshakeSpec;
export type MultiplexWorkloadSpec = MultiplexSpec;
export type PageWorkloadSpec = PageSpec;
export type MigrationWorkloadSpec = MigrationSpec;
export type LoadWorkloadSpec = LoadSpec;
export type ThroughputWorkloadSpec = ThroughputSpec;

export type WorkloadSpec =
  | RequestsWorkloadSpec
  | HandshakeWorkloadSpec
  | MultiplexWorkloadSpec
  | PageWorkloadSpec
  | MigrationWorkloadSpec
  | LoadWorkloadSpec
  | ThroughputWorkloadSpec;
export type WorkloadType = WorkloadSpec['type'];
export const WORKLOAD_TYPES: readonly WorkloadType[] = ['requests', 'handshake', 'multiplex', 'page', 'migration', 'load', 'throughput'];

export interface ExternalTarget {
  url: string;
  /** Skip certificate verification (self-signed certificates). */
  insecure: boolean;
  /** PEM file of the CA to trust instead of the system's (absolute once resolved). */
  ca?: string;
}

/** A server bench starts from the user's command line, in the server namespace. */
export interface CommandServerSpec {
  kind: 'command';
  /** Shell command line with {{placeholders}} (src/scenario/placeholders.ts). */
  command: string;
  /** Config template rendered into {{config}} (absolute once resolved). */
  config?: string;
  /** Fixed ports; a protocol without one uses the port bench picks (shared by all such protocols). */
  ports: Partial<Record<Protocol, number>>;
  /** Command printing the server's version (its first line is recorded). */
  version?: string;
  /** Until every protocol's port answers. */
  startTimeoutMs: number;
  /** Where the command runs, and what relative paths are relative to: the scenario file's directory (set when resolved). */
  cwd?: string;
}

/** The certificate chain the servers bench runs present (`tls:`; default ECDSA P-256, no intermediates). */
export interface TlsSpec {
  key: TlsKeyType;
  intermediates: number;
}

export type ServersSpec =
  | { kind: 'builtin' }
  | { kind: 'external'; targets: Partial<Record<Protocol, ExternalTarget>> }
  | CommandServerSpec;

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
  /** How bench's own HTTP/2 and HTTP/3 servers share a connection among responses; absent for other servers. */
  scheduling?: StreamScheduling;
  tls: TlsSpec;
  workloads: WorkloadSpec[];
  /** `assert:`: checks of the results, evaluated after the run and by `bench gate` (src/gate/). */
  assertions: Assertion[];
  /** `reference:`: what a published study found in this setting, shown beside the figures. */
  reference?: StudyReference;
  timeouts: { requestMs: number; cellMs: number };
}

/** CLI flags that override the file. */
export interface ScenarioOverrides {
  repetitions?: number;
  protocols?: Protocol[];
  seed?: number;
  /** `bench run --capture`: the packets are recorded in the userspace link, so the scenario must run on it. */
  capture?: boolean;
}
