/**
 * Named network profiles, in one place. Scenarios refer to them by name (`network: {profile: cable}`)
 * and may override any value. Values are per packet, per direction, in the link model's base units
 * (ms, fractions, bits/s): the underlying network, never DevTools' per-request latency multipliers.
 * `up` is client -> server, `down` is server -> client. "none" (plain loopback) is not a profile.
 */
import { DIRECTION_DEFAULTS, type DirectionModel } from './model.ts';

export interface NetworkProfile {
  name: string;
  /** One line: what it models and where the numbers come from. */
  source: string;
  up: DirectionModel;
  down: DirectionModel;
}

const direction = (overrides: Partial<DirectionModel>): DirectionModel => ({ ...DIRECTION_DEFAULTS, ...overrides });

const MBIT = 1e6;
const KBIT = 1e3;

/** A symmetric-delay link: half the RTT each way, with separate down/up rates. */
function link(rttMs: number, downBps: number | undefined, upBps: number | undefined, extra: Partial<DirectionModel> = {}) {
  return {
    up: direction({ delayMs: rttMs / 2, ...(upBps !== undefined && { rateBps: upBps }), ...extra }),
    down: direction({ delayMs: rttMs / 2, ...(downBps !== undefined && { rateBps: downBps }), ...extra }),
  };
}

/**
 * Gilbert-Elliott loss with a given long-run loss rate and mean burst length (packets):
 * all packets lost in the bad state, none in the good one, so loss = p / (p + r) and r = 1 / burst.
 */
function burstyLoss(lossRate: number, meanBurstPackets: number): DirectionModel['loss'] {
  const r = 1 / meanBurstPackets;
  const p = (lossRate * r) / (1 - lossRate);
  return { model: 'gilbert-elliott', p, r, oneMinusH: 1, oneMinusK: 0 };
}

const PROFILE_LIST: NetworkProfile[] = [
  {
    name: 'datacenter',
    source: '0.5 ms RTT, no rate limit: two hosts in one datacenter',
    ...link(0.5, undefined, undefined),
  },
  {
    name: 'cable',
    source: 'WebPageTest "Cable": 28 ms RTT, 5 Mbit/s down, 1 Mbit/s up',
    ...link(28, 5 * MBIT, 1 * MBIT),
  },
  {
    name: 'dsl',
    source: 'WebPageTest "DSL": 50 ms RTT, 1.5 Mbit/s down, 384 kbit/s up',
    ...link(50, 1.5 * MBIT, 384 * KBIT),
  },
  {
    name: 'slow-4g',
    source: "Lighthouse's default mobile throttling: 150 ms RTT, 1.6 Mbit/s down, 750 kbit/s up",
    ...link(150, 1.6 * MBIT, 750 * KBIT),
  },
  {
    name: 'regular-3g',
    source: 'Lighthouse "Regular 3G": 300 ms RTT, 700 kbit/s down and up',
    ...link(300, 700 * KBIT, 700 * KBIT),
  },
  {
    name: '3g',
    source: 'WebPageTest "3G": 300 ms RTT, 1.6 Mbit/s down, 768 kbit/s up',
    ...link(300, 1.6 * MBIT, 768 * KBIT),
  },
  {
    name: 'lte',
    source: 'WebPageTest "LTE": 70 ms RTT, 12 Mbit/s down and up',
    ...link(70, 12 * MBIT, 12 * MBIT),
  },
  {
    name: '4g',
    source: 'WebPageTest "4G": 170 ms RTT, 9 Mbit/s down and up',
    ...link(170, 9 * MBIT, 9 * MBIT),
  },
  {
    name: 'lossy-4g',
    source: 'WebPageTest "LTE" (70 ms RTT, 12 Mbit/s) plus 1% random loss each way, 25% correlated: an illustrative degraded cell',
    ...link(70, 12 * MBIT, 12 * MBIT, { loss: { model: 'random', probability: 0.01, correlation: 0.25 } }),
  },
  {
    name: 'satellite',
    source: 'Geostationary satellite: ~600 ms RTT (36,000 km up and down each way), 25 Mbit/s down, 3 Mbit/s up as consumer GEO plans advertise',
    ...link(600, 25 * MBIT, 3 * MBIT),
  },
  {
    name: 'interop-runner',
    source: "QUIC interop runner's ns-3 link: 15 ms each way, 10 Mbit/s, 25-packet drop-tail queue",
    ...link(30, 10 * MBIT, 10 * MBIT, { queueLimitPackets: 25 }),
  },
  {
    name: 'lossy-mobile',
    source:
      "Uber's published mobile measurements: ~350 ms median RTT with a heavy tail (2 x 160 ms + pareto jitter, 30 ms each way), ~3.5% loss in bursts (Gilbert-Elliott, mean burst 3.3 packets)",
    ...link(320, undefined, undefined, {
      jitterMs: 30,
      jitterDistribution: 'pareto',
      loss: burstyLoss(0.035, 1 / 0.3),
    }),
  },
];

export const PROFILES: ReadonlyMap<string, NetworkProfile> = new Map(PROFILE_LIST.map((p) => [p.name, p]));

/** Every profile name, in the order above (for messages and the JSON Schema). */
export const PROFILE_NAMES: readonly string[] = PROFILE_LIST.map((p) => p.name);

export function getProfile(name: string): NetworkProfile | undefined {
  const profile = PROFILES.get(name);
  // Copies, so callers can override values without touching the table.
  return profile && structuredClone(profile);
}
