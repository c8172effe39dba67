import type { ClientSession } from '../drivers/types.ts';
import { monoMs } from '../util/clock.ts';
import { runClosedLoop } from './pool.ts';
import { CellRecorder } from './recorder.ts';
import { connectSession, type SessionContext } from './session.ts';
import type { Workload, WorkloadContext } from './types.ts';

export interface RequestsSpec {
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

/** The route every server answers with n bytes. */
export function bytesPath(n: number): string {
  return `/bytes/${n}`;
}

/** Opens the cell's client sessions: `connections` of them, requests spread round-robin. */
export async function openSessions(ctx: SessionContext, count: number, h1PoolSize = 6): Promise<ClientSession[]> {
  const sessions: ClientSession[] = [];
  for (let i = 0; i < count; i++) {
    sessions.push(await connectSession(ctx, { maxConnections: h1PoolSize }));
  }
  return sessions;
}

/** N requests of given sizes at concurrency C over one or more connections (closed loop). */
export const requestsWorkload: Workload<RequestsSpec> = {
  type: 'requests',
  describe: 'Requests of fixed sizes at a fixed concurrency: latency distribution and throughput.',
  paths: (spec) => spec.sizes.map(bytesPath),
  async run(ctx) {
    const { spec } = ctx;
    const recorder = new CellRecorder(ctx);
    const started = monoMs();
    recorder.start(started);
    const sessions = await openSessions(ctx, spec.connections, spec.h1PoolSize);
    try {
      const issue = async (index: number, measured: boolean) => {
        const session = sessions[index % sessions.length]!;
        const size = spec.sizes[index % spec.sizes.length]!;
        const record = await session.request({ path: bytesPath(size) });
        recorder.sessionConnections(session, undefined, { settledOnly: true });
        recorder.request(record, { measured, phase: measured ? undefined : 'warmup' });
      };
      if (spec.warmup > 0) await runClosedLoop(spec.warmup, spec.concurrency, (i) => issue(i, false), ctx.signal);
      const measuredStart = monoMs();
      recorder.start(measuredStart);
      await runClosedLoop(spec.requests, spec.concurrency, (i) => issue(i, true), ctx.signal);
      recorder.finish(monoMs());
      for (const s of sessions) recorder.sessionConnections(s);
      const transport = await sessions[0]?.stats?.();
      return recorder.result({ transport });
    } finally {
      await Promise.allSettled(sessions.map((s) => s.close()));
    }
  },
};
