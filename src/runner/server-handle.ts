/**
 * The server side of a run, whichever kind the scenario names: bench's own servers (a child
 * process, servers/process.ts), URLs of servers already running, or a server started from the
 * user's command (./command-server.ts). The runner sees one ServerHandle: where the clients
 * connect, how the result names the server, its CPU time, and how it ends.
 */
import type { StreamScheduling } from '../../servers/handler-types.ts';
import type { QuicSenderStats } from '../quic/stats.ts';
import type { SenderPacing } from '../../netem/model.ts';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Protocol, Target } from '../drivers/types.ts';
import type { ServerImplementation } from '../results/model.ts';
import type { CommandServerSpec, ExternalTarget } from '../scenario/types.ts';
import type { GeneratedCertificate } from '../tls/cert.ts';
import { BenchError, UserError } from '../util/errors.ts';
import type { RunnerToServer, ServerToRunner } from '../../servers/ipc.ts';
import { CHILD_READY_TIMEOUT_MS, ChildHandle } from './child.ts';
import { startCommandServer, type CommandServerOptions } from './command-server.ts';
import { toolVersions } from './environment.ts';

const SERVER_SCRIPT = fileURLToPath(new URL('../../servers/process.ts', import.meta.url));

/** bench's clients name the run's certificate by this name (it is also valid for 127.0.0.1). */
const SERVERNAME = 'localhost';

export interface ServerHandle {
  /** Where the clients connect, per protocol. */
  targets: Partial<Record<Protocol, Target>>;
  /** How result.json names the server of each protocol. */
  implementations: Partial<Record<Protocol, ServerImplementation>>;
  /**
   * Set for servers bench did not write: they are checked before any cell (ports answering,
   * routes), waiting this long for a server that is still starting.
   */
  startupWaitMs?: number;
  /** Who serves `protocol`, for messages: "h2 target https://a.test:8443", "the server command `...`". */
  describe(protocol: Protocol): string;
  /** The last lines the server printed, when bench sees its output. */
  outputTail?(): string;
  /** CPU time the server has used so far (user + system); undefined when it cannot be measured. */
  cpuMs(): Promise<number | undefined>;
  /**
   * bench's own HTTP/3 server only: the data sender's view of each QUIC connection not reported
   * yet (smoothed RTT, losses, pacing release error). Sampled before a cell (discarded) and after.
   */
  quicSenderStats?(): Promise<QuicSenderStats[]>;
  /** Resolves when the server exits (after stop(), or because it died), with how it ended. */
  exited: Promise<Error>;
  stop(): Promise<void>;
}

/** The built-in servers as result.json names them. */
function builtinImplementations(): Record<Protocol, ServerImplementation> {
  const tool = toolVersions();
  const bench = `bench ${tool.version}`;
  return {
    h1: { kind: 'builtin', name: `${bench} (node:https, Node ${process.version})`, cpu: 'process' },
    h2: { kind: 'builtin', name: `${bench} (node:http2, Node ${process.version})`, cpu: 'process' },
    h3: { kind: 'builtin', name: `${bench} (its HTTP/3 over quiche, @infisical/quic ${tool.dependencies['@infisical/quic'] ?? 'unknown'})`, cpu: 'process' },
  };
}

/** Starts servers/process.ts (inside the server namespace when `prefix` says so) and waits until it listens. */
export async function startServerProcess(opts: {
  prefix: string[];
  host: string;
  protocols: Protocol[];
  cert: GeneratedCertificate;
  congestionControl?: 'cubic' | 'reno' | 'bbr';
  pacing?: SenderPacing;
  scheduling?: StreamScheduling;
  ports?: Partial<Record<Protocol, number>>;
  responseDelayMs?: number;
  /** Environment of the server process (default: the runner's). */
  env?: NodeJS.ProcessEnv;
}): Promise<ServerHandle> {
  const child = new ChildHandle<RunnerToServer>('server', SERVER_SCRIPT, opts.prefix, opts.env);
  const send = (m: RunnerToServer) => child.send(m);
  send({
    type: 'start',
    host: opts.host,
    protocols: opts.protocols,
    ports: opts.ports,
    cert: { certPem: opts.cert.certPem, keyPem: opts.cert.keyPem },
    congestionControl: opts.congestionControl,
    pacing: opts.pacing,
    scheduling: opts.scheduling,
    responseDelayMs: opts.responseDelayMs,
  });
  const reply = await child
    .waitFor<ServerToRunner>((m) => m.type === 'ready' || m.type === 'error', CHILD_READY_TIMEOUT_MS, 'ready message')
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
  const targets: Partial<Record<Protocol, Target>> = {};
  for (const p of opts.protocols) targets[p] = { host: opts.host, port: ready.ports[p]!, servername: SERVERNAME, ca: opts.cert.caPem };
  const builtin = builtinImplementations();
  /** One question to the server process, and its answer (matched by id). */
  const ask = <K extends 'cpu' | 'quic-stats'>(type: K, what: string) => {
    const requestId = nextRequestId++;
    send({ type, requestId });
    return child.waitFor<Extract<ServerToRunner, { type: K }>>((m) => m.type === type && m.requestId === requestId, 5000, what);
  };
  return {
    targets,
    implementations: Object.fromEntries(opts.protocols.map((p) => [p, builtin[p]])),
    describe: (protocol) => `bench's ${protocol} server (${ready.urls[protocol]})`,
    quicSenderStats: async () => (await ask('quic-stats', 'QUIC statistics')).connections,
    cpuMs: async () => (await ask('cpu', 'CPU sample')).totalMs,
    exited: child.exitedWith,
    stop: () => child.stop(),
  };
}

/** Servers already running at the scenario's URLs: nothing to start or stop, no CPU to read. */
export function externalServers(targets: Partial<Record<Protocol, ExternalTarget>>, protocols: Protocol[]): ServerHandle {
  const handle: ServerHandle = {
    targets: {},
    implementations: {},
    startupWaitMs: 0,
    describe: (protocol) => `${protocol} target ${targets[protocol]!.url}`,
    cpuMs: async () => undefined,
    // An external server's end is seen as failed requests, not as a process exit.
    exited: new Promise(() => {}),
    stop: async () => {},
  };
  for (const p of protocols) {
    const t = targets[p]!;
    const url = new URL(t.url);
    const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
    handle.targets[p] = {
      host,
      port: Number(url.port || 443),
      servername: host,
      insecure: t.insecure,
      ...(t.ca !== undefined && { ca: readFileSync(t.ca, 'utf8') }),
    };
    handle.implementations[p] = { kind: 'external', name: `external ${url.origin}`, url: url.origin, cpu: 'unavailable' };
  }
  return handle;
}

/** A server started from the scenario's command, reached at the topology's server address. */
export async function startServerFromCommand(
  opts: CommandServerOptions & { spec: CommandServerSpec; protocols: Protocol[] },
): Promise<ServerHandle> {
  const server = await startCommandServer(opts);
  const program = path.basename(opts.spec.command.split(/\s+/)[0]!);
  // `caddy version` prints "2.6.2": the program's name makes it readable.
  const name =
    server.version === undefined
      ? `${program} (no \`version\` command given)`
      : server.version.toLowerCase().includes(program.toLowerCase())
        ? server.version
        : `${program} ${server.version}`;
  const handle: ServerHandle = {
    targets: {},
    implementations: {},
    startupWaitMs: opts.spec.startTimeoutMs,
    describe: (protocol) =>
      `the server command (${protocol} on ${protocol === 'h3' ? 'UDP' : 'TCP'} ${opts.host}:${server.ports[protocol]}): ${server.commandLine}`,
    outputTail: () => server.outputTail(),
    cpuMs: async () => server.cpuMs(),
    exited: server.exited,
    stop: () => server.stop(),
  };
  for (const p of opts.protocols) {
    handle.targets[p] = { host: opts.host, port: server.ports[p], servername: SERVERNAME, ca: opts.cert.caPem };
    handle.implementations[p] = {
      kind: 'command',
      name,
      command: opts.spec.command,
      ...(server.version !== undefined && { version: server.version }),
      cpu: 'process-group',
    };
  }
  return handle;
}
