/**
 * bench's own servers (servers/process.ts) in a child process, as in a real run, for benchmarks that
 * drive them from outside: the client under test gets the other core.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Protocol } from '../../src/drivers/types.ts';
import type { GeneratedCertificate } from '../../src/tls/cert.ts';
import { nodeTsArgv } from '../../src/util/node-child.ts';
import type { RunnerToServer, ServerToRunner } from '../../servers/ipc.ts';

export interface ServerProcess {
  pid: number;
  ports: Partial<Record<Protocol, number>>;
  stop(): Promise<void>;
}

export async function startServerProcess(cert: GeneratedCertificate, protocols: Protocol[]): Promise<ServerProcess> {
  const [node, ...args] = nodeTsArgv(fileURLToPath(new URL('../../servers/process.ts', import.meta.url)));
  const child: ChildProcess = fork(args[args.length - 1]!, [], {
    execPath: node,
    execArgv: args.slice(0, -1),
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const send = (m: RunnerToServer) => child.send(m);
  const ready = await new Promise<ServerToRunner>((resolve, reject) => {
    child.once('message', (m) => resolve(m as ServerToRunner));
    child.once('exit', (code) => reject(new Error(`server process exited (${code})`)));
    send({ type: 'start', host: '127.0.0.1', protocols, cert: { certPem: cert.certPem, keyPem: cert.keyPem } });
  });
  if (ready.type !== 'ready') throw new Error(`server process: ${JSON.stringify(ready)}`);
  return {
    pid: ready.pid,
    ports: ready.ports,
    stop: async () => {
      send({ type: 'stop' });
      await new Promise((r) => {
        const t = setTimeout(() => {
          child.kill('SIGKILL');
          r(undefined);
        }, 3000);
        child.once('exit', () => {
          clearTimeout(t);
          r(undefined);
        });
      });
    },
  };
}
