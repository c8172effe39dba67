import type { ClientSession, ConnectOptions } from '../drivers/types.ts';
import type { WorkloadContext } from './types.ts';

/** What connecting needs of a workload's context. */
export type SessionContext = Pick<WorkloadContext, 'driver' | 'target' | 'congestionControl' | 'pacing' | 'requestTimeoutMs'>;

/**
 * Every workload connects through here, so what the scenario sets for all connections (congestion
 * control, the request timeout) reaches the driver whatever the workload.
 */
export function connectSession(
  ctx: SessionContext,
  opts: Pick<ConnectOptions, 'maxConnections' | 'session' | 'earlyData' | 'localAddress' | 'reconnect' | 'silenceTimeoutMs' | 'receiveWindows'>,
): Promise<ClientSession> {
  return ctx.driver.connect(ctx.target, { ...opts, congestionControl: ctx.congestionControl, pacing: ctx.pacing, requestTimeoutMs: ctx.requestTimeoutMs });
}
