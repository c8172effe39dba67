/**
 * Connection setup in round trips: the handshake workload's per-connection phases (result.json
 * cells, details.handshake) pooled across repetitions per protocol and mode, set against the
 * textbook number of round trips, and any deviation on a loss-free link explained by the kind of
 * cause the evidence points to. Pure: result in, figures and words out.
 */
import type { Protocol } from '../../drivers/types.ts';
import type { FidelityReport } from '../../../netem/types.ts';
import { baseRttMs as pathRttMs } from '../../../netem/model.ts';
import { median } from '../../metrics/index.ts';
import { PROTOCOL_NAMES } from '../context.ts';
import type { Cell, NetworkVariantResult, RunResult } from '../../results/model.ts';
import { serverFlight } from './certificate.ts';

import { handshakeDetails, type HandshakeDetails, type HandshakeModeDetails } from '../../results/details.ts';
import {
  expectedPhaseRtt,
  HANDSHAKE_MODES,
  HANDSHAKE_PHASES,
  QUIC_CLIENT_INITIAL_BYTES,
  type HandshakeMode,
  type HandshakePhase,
} from '../../results/handshake-theory.ts';

export { HANDSHAKE_MODES, HANDSHAKE_PHASES, expectedPhaseRtt, handshakeDetails, type HandshakeMode, type HandshakePhase };

export const MODE_NAMES: Record<HandshakeMode, string> = { cold: 'cold', resumed: 'resumed', '0rtt': '0-RTT' };
export const PHASE_NAMES: Record<HandshakePhase, string> = {
  transportReady: 'transport ready',
  tlsReady: 'TLS ready',
  sent: 'request sent',
  firstByte: 'first byte',
  done: 'complete',
};

/** A deviation beyond this many base RTTs on a loss-free link is flagged. */
export const DEVIATION_THRESHOLD_RTT = 0.1;


export interface PhaseFigure {
  /** Median over every successful connection of every repetition. */
  medianMs: number;
  medianRtt?: number;
  /** Each repetition's median (ms), in repetition order. */
  perRepetitionMs: number[];
  samples: number;
}

export type CauseKind = 'workbench-bug' | 'protocol' | 'processing' | 'emulator';

export const CAUSE_NAMES: Record<CauseKind, string> = {
  'workbench-bug': 'workbench bug',
  protocol: 'protocol effect',
  processing: 'client/server processing',
  emulator: 'link emulator',
};

export interface Deviation {
  protocol: Protocol;
  mode: HandshakeMode;
  measuredRtt: number;
  expectedRtt: number;
  /** measured - expected, in base RTTs (and ms). */
  deviationRtt: number;
  deviationMs: number;
  kind: CauseKind;
  /** One sentence: what the deviation most likely is. */
  explanation: string;
  /** The figures that point there. */
  evidence: string[];
}

export interface ModeRow {
  protocol: Protocol;
  mode: HandshakeMode;
  /** Why this protocol has no such mode (from the data), instead of numbers. */
  notApplicable?: string;
  connections: number;
  failed: number;
  resumed: number;
  earlyDataAccepted: number;
  repetitions: number;
  expectedFirstByteRtt?: number;
  phases: Partial<Record<HandshakePhase, PhaseFigure>>;
  medianLinkPackets?: number;
  deviationRtt?: number;
  /** Set when the link is loss-free and |deviation| > DEVIATION_THRESHOLD_RTT. */
  flag?: Deviation;
}

export interface HandshakeAnalysis {
  baseRttMs: number;
  lossFree: boolean;
  rows: ModeRow[];
  flags: Deviation[];
}

/** The base RTT of a network variant: what the workload recorded, else the first path's configuration. */
export function networkRttMs(network: NetworkVariantResult, cells: readonly Cell[]): number {
  for (const c of cells) {
    const rtt = handshakeDetails(c)?.baseRttMs;
    if (rtt !== undefined && rtt > 0) return rtt;
  }
  if (network.spec.kind !== 'shaped' || network.backend === 'none') return 0;
  const path = network.spec.paths[0];
  return path ? pathRttMs(path) : 0;
}

/** True when the variant's links drop nothing on purpose (no loss model, no blackhole, no queue limit reached by design). */
export function isLossFree(network: NetworkVariantResult): boolean {
  if (network.spec.kind !== 'shaped' || network.backend === 'none') return true;
  const lossless = (l: { model: string; probability?: number; oneMinusH?: number; oneMinusK?: number }) =>
    l.model === 'none' || (l.model === 'random' && (l.probability ?? 0) === 0) || (l.model === 'gilbert-elliott' && !l.oneMinusH && !l.oneMinusK);
  const phasesAddLoss = network.spec.phases.some((p) => p.up?.loss || p.down?.loss || p.up?.blackhole || p.down?.blackhole);
  return (
    !phasesAddLoss &&
    network.spec.paths.every((p) => lossless(p.up.loss) && lossless(p.down.loss) && !p.up.blackhole && !p.down.blackhole && !p.up.corrupt && !p.down.corrupt)
  );
}

/** Pools one (protocol, mode) over the repetitions' cells. */
function modeRow(protocol: Protocol, mode: HandshakeMode, cells: readonly Cell[], baseRtt: number): ModeRow | undefined {
  const details = cells.map(handshakeDetails).filter((d): d is HandshakeDetails => d !== undefined);
  const entries = details.map((d) => d.modes[mode]).filter((m) => m !== undefined);
  if (entries.length === 0) return undefined;
  const na = entries.find((m): m is { notApplicable: string } => 'notApplicable' in m);
  const base = { protocol, mode, repetitions: entries.length, phases: {} };
  if (na) return { ...base, notApplicable: na.notApplicable, connections: 0, failed: 0, resumed: 0, earlyDataAccepted: 0 };
  const modes = entries as HandshakeModeDetails[];
  const sum = (f: (m: HandshakeModeDetails) => number) => modes.reduce((s, m) => s + (f(m) ?? 0), 0);
  const row: ModeRow = {
    ...base,
    connections: sum((m) => m.connections),
    failed: sum((m) => m.failed),
    resumed: sum((m) => m.resumed),
    earlyDataAccepted: sum((m) => m.earlyDataAccepted),
    expectedFirstByteRtt: modes.find((m) => m.expectedFirstByteRtt !== undefined)?.expectedFirstByteRtt,
  };
  const packets = modes.map((m) => m.medianLinkPackets).filter((v): v is number => v !== undefined);
  if (packets.length) row.medianLinkPackets = median(packets);
  for (const phase of HANDSHAKE_PHASES) {
    const pooled = details.flatMap((d) =>
      (d.connections ?? []).filter((c) => c.mode === mode && !c.error && c.phasesMs[phase] !== undefined).map((c) => c.phasesMs[phase]!),
    );
    const perRep = modes.map((m) => m.phases[phase]?.medianMs).filter((v): v is number => v !== undefined);
    // Older results may lack the per-connection list: fall back to the repetitions' medians.
    const values = pooled.length ? pooled : perRep;
    if (values.length === 0) continue;
    const m = median(values);
    row.phases[phase] = { medianMs: m, medianRtt: baseRtt > 0 ? m / baseRtt : undefined, perRepetitionMs: perRep, samples: values.length };
  }
  const fb = row.phases.firstByte?.medianRtt;
  if (fb !== undefined && row.expectedFirstByteRtt !== undefined) row.deviationRtt = fb - row.expectedFirstByteRtt;
  return row;
}

export interface AnalyseOptions {
  result: RunResult;
  network: NetworkVariantResult;
  /** Cells of the handshake workload on this network. */
  cells: readonly Cell[];
  /** The same workload's cells on every network (for evidence across RTTs). */
  allCells?: readonly Cell[];
}

export function analyseHandshake(opts: AnalyseOptions): HandshakeAnalysis {
  const { network, cells } = opts;
  const baseRtt = networkRttMs(network, cells);
  const lossFree = isLossFree(network);
  const protocols = (['h1', 'h2', 'h3'] as const).filter((p) => cells.some((c) => c.protocol === p));
  const rows: ModeRow[] = [];
  for (const protocol of protocols) {
    const own = cells.filter((c) => c.protocol === protocol && !c.error);
    for (const mode of HANDSHAKE_MODES) {
      const row = modeRow(protocol, mode, own, baseRtt);
      if (row) rows.push(row);
    }
  }
  const flags: Deviation[] = [];
  if (lossFree && baseRtt > 0) {
    for (const row of rows) {
      if (row.deviationRtt === undefined || Math.abs(row.deviationRtt) <= DEVIATION_THRESHOLD_RTT) continue;
      row.flag = explainDeviation(row, baseRtt, opts);
      flags.push(row.flag);
    }
  }
  return { baseRttMs: baseRtt, lossFree, rows, flags };
}

const fmt = (v: number, digits = 2) => v.toFixed(digits);

/**
 * The kind of cause a deviation points to. Faster than the link allows is impossible: the
 * workbench measures wrong. A whole extra round trip is a protocol flight (rejected early data,
 * address validation, anti-amplification, a retried handshake). A fraction of a round trip is
 * time spent outside the link: the emulator (its measured delay error says how much) or the
 * client and server (then the excess is constant in ms across RTTs).
 */
export function explainDeviation(row: ModeRow, baseRtt: number, opts: AnalyseOptions): Deviation {
  const measured = row.phases.firstByte!.medianRtt!;
  const expected = row.expectedFirstByteRtt!;
  const deviationRtt = measured - expected;
  const deviationMs = deviationRtt * baseRtt;
  const who = `${PROTOCOL_NAMES[row.protocol]} ${MODE_NAMES[row.mode]}`;
  const fidelity = opts.result.environment.emulator.fidelity;
  const evidence: string[] = [
    `median first byte ${fmt(row.phases.firstByte!.medianMs, 1)} ms = ${fmt(measured)} RTT over ${row.phases.firstByte!.samples} connections; expected ${expected} RTT (base RTT ${fmt(baseRtt, 1)} ms)`,
  ];
  const where = locateExcess(row);
  if (where) evidence.push(where);
  const base = { protocol: row.protocol, mode: row.mode, measuredRtt: measured, expectedRtt: expected, deviationRtt, deviationMs };

  if (deviationRtt < 0) {
    const emulatorShort = fidelity && fidelity.oneWayDelayMeanMs < fidelity.target.delayMs - 0.05 * baseRtt;
    if (fidelity) evidence.push(fidelityText(fidelity));
    return {
      ...base,
      kind: 'workbench-bug',
      explanation:
        `${who} got its first byte ${fmt(-deviationRtt)} RTT sooner than the link allows: physically impossible, so the workbench measures wrong ` +
        (emulatorShort
          ? '(the emulator delivers faster than configured, see its measured one-way delay).'
          : '(a timestamp taken at the wrong moment, or the wrong base RTT).'),
      evidence,
    };
  }

  const ok = row.connections - row.failed;
  // Early data refused on most connections: those requests waited for the handshake (one more round trip).
  const mostlyRejected = row.mode === '0rtt' && row.earlyDataAccepted < ok / 2;
  if (row.mode === '0rtt' && row.earlyDataAccepted < ok) evidence.push(`early data accepted on ${row.earlyDataAccepted} of ${ok} connections`);
  // What the emulator's measured delay error can account for, over the link traversals before the first byte.
  const traversals = 2 * expected;
  const emulatorMs = fidelity ? Math.max(0, fidelity.oneWayDelayMeanMs - fidelity.target.delayMs) * traversals : 0;
  const residualRtt = (deviationMs - emulatorMs) / baseRtt;
  const wholeTrips = Math.round(residualRtt);
  // A cold QUIC handshake whose server flight overflows the anti-amplification limit owes one round trip to it.
  const chain = row.protocol === 'h3' ? opts.result.environment.certificate : undefined;
  const flight = chain ? serverFlight(chain) : undefined;
  const amplified = row.mode === 'cold' && flight?.overLimit === true;
  const limit =
    `the anti-amplification limit (RFC 9000 section 8: before the client's address is validated the server may send only 3x the bytes it received, ` +
    `so a first flight larger than 3 x ${QUIC_CLIENT_INITIAL_BYTES} bytes waits one round trip for the client's acknowledgements)`;
  const wholeFlight = wholeTrips >= 1 && Math.abs(residualRtt - wholeTrips) <= 0.25;
  if (wholeFlight || (amplified && residualRtt >= 0.75)) {
    if (emulatorMs > 0) evidence.push(`${fmt(residualRtt)} RTT remain after the ${fmt(emulatorMs, 1)} ms the emulator's measured delay error can explain`);
    const trips = wholeFlight ? `${wholeTrips} extra round trip${wholeTrips === 1 ? '' : 's'}` : `${fmt(residualRtt)} RTT extra`;
    if (row.medianLinkPackets !== undefined) evidence.push(`median ${fmt(row.medianLinkPackets, 0)} packets crossed the link per connection`);
    if (mostlyRejected) {
      return {
        ...base,
        kind: 'protocol',
        explanation: `${who}: ${trips}: the server did not accept the early data on most connections, so the request waited for the handshake (a real protocol outcome: ticket, replay protection or server setting).`,
        evidence,
      };
    }
    const scaling = acrossNetworks(row, opts);
    if (scaling) evidence.push(scaling.text);
    if (row.protocol === 'h3') {
      if (flight) evidence.push(flight.text);
      if (amplified) {
        // The client's next Initial (padded to 1200 bytes) or Handshake packet lifts the limit: one round trip, never more.
        const rest = residualRtt - 1;
        return {
          ...base,
          kind: 'protocol',
          explanation:
            Math.abs(rest) > 0.25
              ? `${who}: ${fmt(residualRtt)} RTT extra: one round trip from ${limit}, which this run's certificate chain exceeds; ` +
                `the other ${fmt(rest)} RTT (${fmt(rest * baseRtt, 1)} ms) is time in the client or server (the chain's signatures and their verification, event-loop scheduling).`
              : `${who}: 1 extra round trip, from ${limit}, which this run's certificate chain exceeds.`,
          evidence,
        };
      }
      const chainText = !flight
        ? 'the certificate chain was not recorded in this result'
        : row.mode === 'cold'
          ? "this run's certificate chain keeps the first flight below that"
          : `a ${MODE_NAMES[row.mode]} handshake sends no certificate`;
      return {
        ...base,
        kind: 'protocol',
        explanation:
          `${who}: ${trips}, a protocol flight rather than processing time. For QUIC the usual causes are address validation (a Retry costs one round trip) ` +
          `and ${limit}; ${chainText}, so check for a Retry first.`,
        evidence,
      };
    }
    return {
      ...base,
      kind: 'protocol',
      explanation: `${who}: ${trips}, a whole flight rather than processing time: a TLS HelloRetryRequest (key share mismatch) or a client that waits for something before sending the request.`,
      evidence,
    };
  }

  // A fraction of a round trip: time outside the protocol's flights.
  const scaling = acrossNetworks(row, opts);
  if (scaling) evidence.push(scaling.text);
  if (fidelity) {
    evidence.push(
      `${fidelityText(fidelity)}: up to ${fmt(emulatorMs, 2)} ms over the ${traversals} link traversals before the first byte, against ${fmt(deviationMs, 2)} ms extra`,
    );
    if (emulatorMs >= 0.5 * deviationMs) {
      return {
        ...base,
        kind: 'emulator',
        explanation: `${who}: ${fmt(deviationRtt)} RTT (${fmt(deviationMs, 1)} ms) extra, most of which the emulator's measured delay error explains; the protocol took the expected number of round trips.`,
        evidence,
      };
    }
  } else {
    evidence.push('no emulator fidelity measurement in this result: the emulator cannot be ruled out (run bench doctor --measure)');
  }
  return {
    ...base,
    kind: 'processing',
    explanation:
      `${who}: ${fmt(deviationRtt)} RTT (${fmt(deviationMs, 1)} ms) extra, not a whole round trip: time spent in the client or server ` +
      `(handshake cryptography, event-loop scheduling, the server's response) rather than an extra flight${fidelity ? ', which the emulator does not explain' : ''}.`,
    evidence,
  };
}

function fidelityText(f: FidelityReport): string {
  return `emulator fidelity (${f.backend}): one-way delay ${fmt(f.oneWayDelayMeanMs, 2)} ms for a ${fmt(f.target.delayMs, 2)} ms target, scheduler lateness p99 ${fmt(f.schedulerLatenessP99Ms, 2)} ms`;
}

/** Which phase the excess first appears in: the phase whose deviation from its expected time jumps most. */
function locateExcess(row: ModeRow): string | undefined {
  const expected = expectedPhaseRtt(row.protocol, row.mode);
  if (!expected) return undefined;
  const order = [...HANDSHAKE_PHASES].filter((p) => row.phases[p]?.medianRtt !== undefined).sort((a, b) => expected[a] - expected[b]);
  let previous = 0;
  let best: { phase: HandshakePhase; jump: number; after?: HandshakePhase } | undefined;
  let prior: HandshakePhase | undefined;
  for (const phase of order) {
    const deviation = row.phases[phase]!.medianRtt! - expected[phase];
    const jump = deviation - previous;
    if (!best || Math.abs(jump) > Math.abs(best.jump)) best = { phase, jump, after: prior };
    previous = deviation;
    prior = phase;
  }
  if (!best) return undefined;
  const interval = best.after ? `between ${PHASE_NAMES[best.after]} and ${PHASE_NAMES[best.phase]}` : `before ${PHASE_NAMES[best.phase]}`;
  return `the largest share (${best.jump >= 0 ? '+' : ''}${fmt(best.jump)} RTT) appears ${interval} (expected at ${expected[best.phase]} RTT)`;
}

/** The same (protocol, mode) on the workload's other networks: is the excess constant in ms or in RTTs? */
function acrossNetworks(row: ModeRow, opts: AnalyseOptions): { text: string } | undefined {
  if (!opts.allCells) return undefined;
  const networks = [...new Set(opts.allCells.map((c) => c.network))];
  const points: Array<{ network: string; rtt: number; excessMs: number }> = [];
  for (const label of networks) {
    const variant = opts.result.networks.find((n) => n.label === label);
    if (!variant || !isLossFree(variant)) continue;
    const cells = opts.allCells.filter((c) => c.network === label && c.protocol === row.protocol && !c.error);
    const rtt = networkRttMs(variant, cells);
    const other = rtt > 0 ? modeRow(row.protocol, row.mode, cells, rtt) : undefined;
    if (other?.deviationRtt === undefined) continue;
    points.push({ network: label, rtt, excessMs: other.deviationRtt * rtt });
  }
  if (points.length < 2) return undefined;
  const rtts = points.map((p) => p.rtt);
  const ms = points.map((p) => p.excessMs);
  const list = points.map((p) => `${fmt(p.excessMs, 1)} ms at ${p.network}`).join(', ');
  const rttSpread = Math.max(...rtts) / Math.min(...rtts);
  const msSpread = Math.max(...ms) / Math.max(1e-9, Math.min(...ms));
  if (rttSpread >= 2 && Math.min(...ms) > 0 && msSpread < Math.sqrt(rttSpread)) {
    return { text: `extra time across RTTs: ${list}: about constant in ms, so a fixed cost per connection, not per round trip` };
  }
  if (rttSpread >= 2 && Math.min(...ms) > 0) {
    return { text: `extra time across RTTs: ${list}: it grows with the RTT, so it is counted in round trips` };
  }
  return { text: `extra time across RTTs: ${list}` };
}
