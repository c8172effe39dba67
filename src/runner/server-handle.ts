import { fileURLToPath } from 'node:url';
import type { Protocol } from '../drivers/types.ts';
import type { GeneratedCertificate } from '../tls/cert.ts';
import { BenchError, UserError } from '../util/errors.ts';
import type { RunnerToServer, ServerToRunner } from '../../servers/ipc.ts';
import { ChildHandle } from './child.ts';

const SERVER_SCRIPT = fileURLToPath(new URL('../../servers/process.ts', import.meta.url));

export interface ServerHandle {
  ports: Partial<Record<Protocol, number>>;
  urls: Partial<Record<Protocol, string>>;
  /** CPU time the server process has used so far (user + system); subtract two samples for a cell. */
  cpuMs(): Promise<number>;
  /** Resolves when the server process exits (after stop(), or because it died), with how it ended. */
  exited: Promise<Error>;
  stop(): Promise<void>;
}

/** Starts servers/process.ts (inside the server namespace when `prefix` says so) and waits until it listens. */
export async function startServerProcess(opts: {
  prefix: string[];
  host: string;
  protocols: Protocol[];
  cert: GeneratedCertificate;
  congestionControl?: 'cubic' | 'reno' | 'bbr';
  ports?: Partial<Record<Protocol, number>>;
}): Promise<ServerHandle> {
  const child = new ChildHandle('server', SERVER_SCRIPT, opts.prefix);
  const send = (m: RunnerToServer) => child.send(m);
  send({
    type: 'start',
    host: opts.host,
    protocols: opts.protocols,
    ports: opts.ports,
    cert: { certPem: opts.cert.certPem, keyPem: opts.cert.keyPem },
    congestionControl: opts.congestionControl,
  });
  const reply = await child
    .waitFor<ServerToRunner>((m) => m.type === 'ready' || m.type === 'error', 20_000, 'ready message')
    .catch(async (error) => {
      await child.stop();
      throw error;
    });
  if (reply.type === 'error') {
    await child.stop();
    throw reply.userError ? new UserError(reply.code, reply.message) : new BenchError(reply.code, reply.message);
  }
  const ready = reply as Extract<ServerToRunner, { type: 'ready' }>;
  let nextRequestId = 1;
  return {
    ports: ready.ports,
    urls: ready.urls,
    async cpuMs() {
      const requestId = nextRequestId++;
      send({ type: 'cpu', requestId });
      const cpu = await child.waitFor<Extract<ServerToRunner, { type: 'cpu' }>>(
        (m) => m.type === 'cpu' && m.requestId === requestId,
        5000,
        'CPU sample',
      );
      return cpu.totalMs;
    },
    exited: child.exitedWith,
    stop: () => child.stop(),
  };
}
