/**
 * result.json: the contract between gathering (runner) and everything that reads results
 * (report.html, compare, the CI gate). Readers use only this file (and raw.jsonl for detail views).
 * Bump SCHEMA_VERSION on any incompatible change.
 */
import type { Protocol, TransportStats } from '../drivers/types.ts';
import type { QuicSenderStats } from '../quic/stats.ts';
import type { FidelityReport, LinkCounters, LinkProcessLoad } from '../../netem/types.ts';
import type { NetworkSpec } from '../../netem/model.ts';
import type { TlsKeyType } from '../tls/key-types.ts';
import type { MetricHistogram } from '../metrics/histogram.ts';
import type { Assertion } from './assertions.ts';
import type { StudyReference } from './reference.ts';
import type { WorkloadDetails } from './details.ts';

export const SCHEMA_VERSION = 1;

/** A latency (or other) distribution: summary numbers plus the encoded HdrHistogram for merging. */
export type { MetricHistogram };

/**
 * Why a request failed: `timeout`, no complete response within the scenario's `timeouts.request`;
 * `status`, an HTTP status of 400 or more; `error`, anything else (stream reset, connection lost).
 */
export type RequestFailureKind = 'timeout' | 'status' | 'error';

/** Requests of a cell: `failed` = total - ok; `failedBy` splits it by kind (absent in older results). */
export interface RequestCounts {
  total: number;
  ok: number;
  failed: number;
  bytes: number;
  failedBy?: Partial<Record<RequestFailureKind, number>>;
}

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
  requests: RequestCounts;
  /** Completed requests per second and response-body goodput over the cell's duration. */
  requestsPerSec: number;
  goodputBps: number;
  connections: { opened: number; resumed: number; earlyData: number };
  /** Named distributions, e.g. latency, ttfb, connect, tls. */
  metrics: Record<string, MetricHistogram>;
  /** CPU time the server process spent on this cell (user+system). */
  serverCpuMs?: number;
  clientCpuMs?: number;
  /** The userspace link process during this cell: its CPU time and scheduling lateness p99 (absent on other backends). */
  linkProcess?: LinkProcessLoad;
  /** The client's view of its (first) connection: ss -tin for TCP, quiche's stats for QUIC. */
  transport?: TransportStats;
  /**
   * bench's HTTP/3 server, as the data sender, per QUIC connection of the cell: its smoothed RTT
   * (the estimate that drives its window and pacing), losses, and its pacing release error.
   */
  serverQuic?: QuicSenderStats[];
  link?: LinkCounters;
  /** Workload-specific figures, keyed by workload type (src/results/details.ts). */
  details?: WorkloadDetails;
  /** bench run --capture: the cell's pcapng (relative to the run directory) and what it holds. */
  capture?: CellCapture;
  /** Set when the cell could not complete; the other figures cover what finished. */
  error?: string;
}

/** A cell's capture: packets the link received and delivered, and how many it dropped (each marked in the file). */
export interface CellCapture {
  file: string;
  received: number;
  delivered: number;
  dropped: number;
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
  /** Why that backend, e.g. "auto: userspace because the kernel link's fidelity measurement on this machine failed (...)". */
  backendReason?: string;
  /**
   * Whether the link logged what it dropped and delivered (head-of-line figures need it), and how
   * or why not; absent in results written before it was recorded (then: kept by the userspace link only).
   */
  dropLog?: { kept: boolean; detail: string };
}

/**
 * The HTTP server that answered one protocol: a verdict may be the server's rather than the
 * protocol's, so every result names it.
 */
export interface ServerImplementation {
  /** bench's own servers, a URL the user gave, or a server bench started from the user's command. */
  kind: 'builtin' | 'external' | 'command';
  /** As printed: "bench 0.1.0 (node:http2, Node v20.19.0)", "external https://example.test:8443", or the version line. */
  name: string;
  /** external: the URL. */
  url?: string;
  /** command: the command line as the scenario wrote it. */
  command?: string;
  /** command: the first line its `version` command printed. */
  version?: string;
  /** The `server` and `alt-svc` response headers seen when bench checked the routes. */
  serverHeader?: string;
  altSvc?: string;
  /** How cells' serverCpuMs were measured: the server process, the command's process group, or not at all (external). */
  cpu: 'process' | 'process-group' | 'unavailable';
}

/**
 * The certificate chain bench's servers presented (the scenario's `tls:`): its size decides whether
 * a QUIC server's first flight fits under the anti-amplification limit (3x what the client sent).
 */
export interface CertificateChainInfo {
  key: TlsKeyType;
  /** Intermediate CAs between the root and the leaf; the server sends them after the leaf. */
  intermediates: number;
  /** DER bytes of each certificate the server sends, leaf first (the root is not sent). */
  certificateBytes: number[];
  /** Their sum: what the TLS Certificate message carries besides its 5 + 5-per-certificate bytes of framing. */
  chainBytes: number;
}

/**
 * How a result of `bench ab` was made: single-repetition runs of this build (`role`) alternated
 * with those of the other build in one sitting; repetition i is this build's run of pair i.
 */
export interface InterleavedRun {
  role: 'baseline' | 'candidate';
  /** The run order, e.g. "ABBA" (A = baseline, B = candidate, repeated). */
  order: 'ABBA';
  pairs: number;
  /** The checkouts whose src/bin.mjs ran each build (absolute paths). */
  builds: { baseline: string; candidate: string };
  /** --candidate-server-delay: ms the candidate's built-in servers waited (an injected regression). */
  candidateServerDelayMs?: number;
  /** This build's run directories, in run order (relative to the `bench ab` output directory). */
  runs: string[];
}

export interface RunResult {
  schemaVersion: typeof SCHEMA_VERSION;
  /** `commit`: the git commit bench ran from ("-dirty" with local changes), when it ran from a checkout. */
  tool: { name: 'bench'; version: string; commit?: string; dependencies: Record<string, string> };
  run: {
    id: string;
    startedAt: string;
    finishedAt?: string;
    durationMs?: number;
    argv: string[];
    seed: number;
    status: 'complete' | 'partial' | 'failed';
    /** `bench run --server-delay`: the built-in servers waited this long (ms) before every response. */
    serverDelayMs?: number;
    error?: string;
  };
  environment: {
    /** The machine's name (results written before it was recorded lack it). */
    hostname?: string;
    node: string;
    platform: string;
    kernel: string;
    cpu: { model: string; cores: number };
    memoryBytes: number;
    emulator: { backend: 'kernel' | 'userspace' | 'none'; shaped: boolean; fidelity?: FidelityReport };
    /** The chain bench's servers (or a server started from a command) presented; absent for external servers and in older results. */
    certificate?: CertificateChainInfo;
    /** `bench ab`: this result gathers one build's runs, interleaved with another build's on this machine. */
    interleaved?: InterleavedRun;
  };
  /** The resolved scenario (units converted, profiles expanded), as JSON. */
  scenario: Record<string, unknown> & { name: string; file: string; assertions?: Assertion[]; reference?: StudyReference };
  /** Which server answered each protocol (absent in results written before it was recorded). */
  servers?: Partial<Record<Protocol, ServerImplementation>>;
  networks: NetworkVariantResult[];
  cells: Cell[];
  summaries: Summary[];
  warnings: Warning[];
}
