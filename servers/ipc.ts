/** Messages between the runner and the server process (servers/process.ts), over node's IPC channel. */
import type { SenderPacing } from '../netem/model.ts';
import type { Protocol } from '../src/drivers/types.ts';
import type { QuicSenderStats } from '../src/quic/stats.ts';
import type { StreamScheduling } from './handler-types.ts';
import type { CpuTime } from './index.ts';

export interface ServerStartMessage {
  type: 'start';
  host: string;
  protocols: Protocol[];
  ports?: Partial<Record<Protocol, number>>;
  /** The run's certificate, either inline or as files (the runner writes them to the run dir). */
  cert?: { certPem: string; keyPem: string };
  certFile?: string;
  keyFile?: string;
  congestionControl?: 'cubic' | 'reno' | 'bbr';
  pacing?: SenderPacing;
  scheduling?: StreamScheduling;
  maxBodyBytes?: number;
  /** Delay before every response (ms): `bench run --server-delay`. */
  responseDelayMs?: number;
}

export type RunnerToServer =
  | ServerStartMessage
  /** Ask for the process's CPU time so far; sample before and after a cell and subtract. */
  | { type: 'cpu'; requestId: number }
  /** Sender statistics of the HTTP/3 server's connections since the last ask (see servers/h3.ts). */
  | { type: 'quic-stats'; requestId: number }
  | { type: 'stop' };

export type ServerToRunner =
  | { type: 'ready'; pid: number; urls: Partial<Record<Protocol, string>>; ports: Partial<Record<Protocol, number>> }
  | ({ type: 'cpu'; requestId: number } & CpuTime)
  | { type: 'quic-stats'; requestId: number; connections: QuicSenderStats[] }
  /** Start failed; `userError` means the message is for the user as is (port taken ...). */
  | { type: 'error'; code: string; message: string; userError: boolean }
  | { type: 'stopped' };
