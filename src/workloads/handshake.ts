import type { ClientSession, ConnectionRecord, Protocol, RequestRecord, TransportStats } from '../drivers/types.ts';
import type { DirectionCounters, LinkCounters } from '../../netem/types.ts';
import { median } from '../metrics/stats.ts';
import { HANDSHAKE_PHASES, expectedPhaseRtt, type HandshakeMode, type HandshakePhase } from '../results/handshake-theory.ts';
import type { HandshakeConnectionSample as ConnectionSample, HandshakeDetails, HandshakeModeDetails } from '../results/details.ts';
import { monoMs } from '../util/clock.ts';
import { waitForSessionTicket } from '../drivers/common.ts';
import { runClosedLoop } from './pool.ts';
import { CellRecorder } from './recorder.ts';
import { registerWorkload } from './registry.ts';
import { connectSession } from './session.ts';
import { bytesPath } from './requests.ts';
import type { Workload, WorkloadContext } from './types.ts';

export type { HandshakeMode };
export { HANDSHAKE_PHASES };

export interface HandshakeSpec {
  type: 'handshake';
  name: string;
  modes: HandshakeMode[];
  /** New connections per mode. */
  connections: number;
  /** How many of them at once (1 = strictly one after another). */
  parallel: number;
  /** Size of the one object each connection fetches, bytes. */
  size: number;
}

/** First response byte in base RTTs from the client's first packet (undefined: no such mode). */
export function expectedFirstByteRtt(protocol: Protocol, mode: HandshakeMode): number | undefined {
  return expectedPhaseRtt(protocol, mode)?.firstByte;
}

export function notApplicableReason(protocol: Protocol, mode: HandshakeMode): string | undefined {
  if (mode === '0rtt' && protocol !== 'h3') {
    return "Node's TLS over TCP cannot send TLS 1.3 early data, so HTTP/1.1 and HTTP/2 have no 0-RTT mode here";
  }
  return undefined;
}

export const handshakeWorkload: Workload<HandshakeSpec> = {
  type: 'handshake',
  describe:
    'New connections one after another, each fetching one small object: time to transport, TLS, first byte and completion, cold, resumed and with 0-RTT.',
  paths: (spec) => [bytesPath(spec.size)],
  async run(ctx) {
    const { spec } = ctx;
    const recorder = new CellRecorder(ctx);
    recorder.start(monoMs());
    const samples: ConnectionSample[] = [];
    const modes: HandshakeDetails['modes'] = {};
    for (const mode of spec.modes) {
      const na = notApplicableReason(ctx.protocol, mode);
      if (na) {
        modes[mode] = { notApplicable: na };
        continue;
      }
      // Resumption needs a ticket from an earlier connection: a priming connection, not measured.
      let ticket: Uint8Array | undefined;
      if (mode !== 'cold') ticket = await prime(ctx, spec);
      const modeSamples: ConnectionSample[] = [];
      const closing: Promise<void>[] = [];
      await runClosedLoop(
        spec.connections,
        spec.parallel,
        async () => {
          const sample = await measureOne(ctx, spec, mode, ticket, recorder);
          if (sample.ticket) ticket = sample.ticket;
          if (sample.closing) closing.push(sample.closing);
          modeSamples.push(sample.sample);
        },
        ctx.signal,
      );
      await Promise.allSettled(closing);
      samples.push(...modeSamples);
      modes[mode] = summariseMode(ctx, mode, modeSamples);
    }
    recorder.finish(monoMs());
    return recorder.result({
      details: { handshake: { baseRttMs: ctx.baseRttMs, modes, connections: samples } },
    });
  },
};

async function prime(ctx: WorkloadContext<HandshakeSpec>, spec: HandshakeSpec): Promise<Uint8Array | undefined> {
  const session = await connectSession(ctx, { maxConnections: 1 });
  try {
    await session.request({ path: bytesPath(spec.size) });
    return await waitForSessionTicket(session);
  } finally {
    await session.close();
  }
}


async function measureOne(
  ctx: WorkloadContext<HandshakeSpec>,
  spec: HandshakeSpec,
  mode: HandshakeMode,
  ticket: Uint8Array | undefined,
  recorder: CellRecorder,
): Promise<{ sample: ConnectionSample; ticket?: Uint8Array; closing?: Promise<void> }> {
  const sequential = spec.parallel === 1;
  const before = sequential ? await ctx.link.counters().catch(() => undefined) : undefined;
  const start = monoMs();
  let session: ClientSession | undefined;
  let request: RequestRecord | undefined;
  let connection: ConnectionRecord | undefined;
  let nextTicket: Uint8Array | undefined;
  let transport: TransportStats | undefined;
  let after: LinkCounters | undefined;
  let closing: Promise<void> | undefined;
  try {
    session = await connectSession(ctx, { maxConnections: 1, session: mode === 'cold' ? undefined : ticket, earlyData: mode === '0rtt' });
    request = await session.request({ path: bytesPath(spec.size) });
    connection = session.connections[0];
    transport = await session.stats?.().catch(() => undefined);
    after = sequential ? await ctx.link.counters().catch(() => undefined) : undefined;
    if (mode !== 'cold') nextTicket = await waitForSessionTicket(session, 200);
  } catch (error) {
    return { sample: { mode, phasesMs: {}, resumed: false, earlyData: false, error: (error as Error).message } };
  } finally {
    // Not awaited: a QUIC close drains for three PTOs (about a second at 100 ms RTT); the next
    // connection need not wait for it, its CONNECTION_CLOSE is already on the wire.
    closing = session?.close().catch(() => {});
  }
  if (connection) recorder.connection(connection, mode);
  recorder.request(request, { phase: mode });
  const t0 = connection?.start ?? start;
  const phasesMs: Partial<Record<HandshakePhase, number>> = {};
  const at: Record<HandshakePhase, number | undefined> = {
    transportReady: connection?.transportReady,
    tlsReady: connection?.tlsReady,
    sent: request.sent,
    firstByte: request.firstByte,
    done: request.done,
  };
  for (const phase of HANDSHAKE_PHASES) {
    const t = at[phase];
    if (t === undefined || request.error) continue;
    phasesMs[phase] = t - t0;
    recorder.recordValue(`${mode}.${phase}`, t - t0);
  }
  return {
    sample: {
      mode,
      phasesMs,
      resumed: connection?.resumed ?? false,
      earlyData: connection?.earlyData ?? false,
      link: linkDelta(before, after),
      transport,
      error: request.error,
    },
    ticket: nextTicket,
    closing,
  };
}

function linkDelta(before?: LinkCounters, after?: LinkCounters): ConnectionSample['link'] {
  if (!before || !after) return undefined;
  let packets = 0;
  const add = (a?: DirectionCounters, b?: DirectionCounters) => {
    if (a && b) packets += a.packetsIn - b.packetsIn;
  };
  for (const [path, dirs] of Object.entries(after)) {
    add(dirs.up, before[path]?.up);
    add(dirs.down, before[path]?.down);
  }
  return { packets };
}

/** The median, or undefined when nothing was measured (JSON has no NaN). */
function medianOf(values: number[]): number | undefined {
  return values.length === 0 ? undefined : median(values);
}

function summariseMode(ctx: WorkloadContext<HandshakeSpec>, mode: HandshakeMode, samples: ConnectionSample[]): HandshakeModeDetails {
  const ok = samples.filter((s) => !s.error);
  const phases: HandshakeModeDetails['phases'] = {};
  for (const phase of HANDSHAKE_PHASES) {
    const m = medianOf(ok.map((s) => s.phasesMs[phase]).filter((v): v is number => v !== undefined));
    phases[phase] = { medianMs: m, medianRtt: m !== undefined && ctx.baseRttMs > 0 ? m / ctx.baseRttMs : undefined };
  }
  const packets = medianOf(ok.map((s) => s.link?.packets).filter((v): v is number => v !== undefined));
  const pick = (f: (t: TransportStats) => number | undefined) =>
    medianOf(ok.map((s) => (s.transport ? f(s.transport) : undefined)).filter((v): v is number => v !== undefined));
  return {
    connections: samples.length,
    failed: samples.length - ok.length,
    resumed: ok.filter((s) => s.resumed).length,
    earlyDataAccepted: ok.filter((s) => s.earlyData === true).length,
    expectedFirstByteRtt: expectedFirstByteRtt(ctx.protocol, mode),
    phases,
    medianLinkPackets: packets,
    medianTransport: {
      sentBytes: pick((t) => t.sentBytes),
      recvBytes: pick((t) => t.recvBytes),
      sentPackets: pick((t) => t.sentPackets),
      recvPackets: pick((t) => t.recvPackets),
    },
  };
}

registerWorkload(handshakeWorkload);
