/**
 * The link model: one vocabulary for both emulator backends (kernel tc netem, userspace TUN link).
 * Values are in base units (milliseconds, fractions 0..1, bits per second, bytes, packets).
 * `up` is client -> server, `down` is server -> client.
 */
export type JitterDistribution = 'normal' | 'pareto' | 'paretonormal' | 'uniform';

export type LossModel =
  | { model: 'none' }
  /** Independent (optionally correlated) loss, as netem `loss random P [CORR]`. */
  | { model: 'random'; probability: number; correlation: number }
  /** netem `loss gemodel p r 1-h 1-k`: p = good->bad, r = bad->good, 1-h = loss in bad, 1-k = loss in good. */
  | { model: 'gilbert-elliott'; p: number; r: number; oneMinusH: number; oneMinusK: number };

export interface DirectionModel {
  delayMs: number;
  jitterMs: number;
  jitterDistribution: JitterDistribution;
  /** 0..1, as netem's correlation. */
  jitterCorrelation: number;
  loss: LossModel;
  /** Probability a packet is sent twice. */
  duplicate: number;
  /** Probability a packet skips the delay (netem reorder); gap not modelled. */
  reorder: number;
  reorderCorrelation: number;
  /** Probability of a single-bit error in a packet. */
  corrupt: number;
  /** Bottleneck rate in bits per second; undefined = unlimited. */
  rateBps?: number;
  /** Drop-tail queue limit at the bottleneck (packets and/or bytes). */
  queueLimitPackets?: number;
  queueLimitBytes?: number;
  /** Drop everything. */
  blackhole: boolean;
  /** Path to a Mahimahi-style trace: one line per delivery opportunity (ms since start), 1500 bytes each; userspace only. */
  rateTrace?: string;
}

export interface PathModel {
  /** e.g. "primary", "wifi", "lte". The first path is the default route. */
  name: string;
  up: DirectionModel;
  down: DirectionModel;
}

/** A change applied while the run goes on. */
export interface Phase {
  atMs: number;
  /** Which path it changes; all paths when absent. */
  path?: string;
  up?: Partial<DirectionModel>;
  down?: Partial<DirectionModel>;
  /**
   * userspace only: rewrite the client's source address/port from now on, as a NAT rebinding does;
   * `reset` first returns to no rewriting (how the runner undoes a workload's rebinding).
   */
  rebind?: { port?: boolean; address?: boolean; reset?: boolean };
}

export type Backend = 'kernel' | 'userspace';
export type TcpCongestionControl = 'cubic' | 'reno' | 'bbr';

/**
 * Whether the data senders pace their packets. `default`: each stack as it ships (bench's QUIC
 * paces with its own pacer, src/quic/pacer.ts: 2 x cwnd/srtt in slow start, 1.2 x after; Linux
 * TCP with cubic or reno and no fq qdisc sends in bursts; BBR paces itself). `on`: both pace by the
 * same rule (TCP through SO_MAX_PACING_RATE, Linux's internal pacing). `off`: neither paces (not
 * with BBR). `quiche`: QUIC paced by quiche's own pacer (1.25 x cwnd/srtt; dates packets at its
 * release time), TCP as in `default`.
 */
export type SenderPacing = 'default' | 'on' | 'off' | 'quiche';
export const SENDER_PACING: readonly SenderPacing[] = ['default', 'on', 'off', 'quiche'];

export type NetworkSpec =
  | { kind: 'none' }
  | {
      kind: 'shaped';
      backend: Backend | 'auto';
      /** Name of the profile it came from, when any (for the report). */
      profile?: string;
      mtu: number;
      congestionControl: TcpCongestionControl;
      /** Which senders pace (see SenderPacing); absent in results written before it existed: `default`. */
      pacing?: SenderPacing;
      /** How jitter treats packet order (userspace link only); absent: `reorder`, as netem. */
      jitterOrder?: JitterOrder;
      paths: PathModel[];
      phases: Phase[];
    };

/**
 * How jitter treats packet order. 'reorder' (netem's): each packet gets its own delay and leaves
 * when it is due, so jitter larger than the packet spacing reorders packets. 'fifo': no packet
 * overtakes an earlier one (departure = max(own due time, previous departure)), as on a link whose
 * jitter comes from queueing and which delivers in order (a cellular link's RLC); it raises the mean delay.
 */
export type JitterOrder = 'reorder' | 'fifo';

export const DIRECTION_DEFAULTS: DirectionModel = {
  delayMs: 0,
  jitterMs: 0,
  jitterDistribution: 'normal',
  jitterCorrelation: 0,
  loss: { model: 'none' },
  duplicate: 0,
  reorder: 0,
  reorderCorrelation: 0,
  corrupt: 0,
  blackhole: false,
};

/** Round-trip time of a path without jitter or queueing: the base RTT analyses divide by. */
export function baseRttMs(path: PathModel): number {
  return path.up.delayMs + path.down.delayMs;
}
