/**
 * The server as a child process (run inside the server namespace, e.g. `ip netns exec <ns> node
 * ...`). Protocol: runner sends {start}, we answer {ready, urls, ports} or {error}; {cpu} queries
 * get this process's CPU time; {stop} or a closed IPC channel (the runner died) ends the process.
 */
import { readFileSync } from 'node:fs';
import { BenchError, UserError } from '../src/util/errors.ts';
import { startServers, type RunningServers } from './index.ts';
import type { RunnerToServer, ServerStartMessage, ServerToRunner } from './ipc.ts';

if (!process.send) {
  console.error('servers/process.ts must be started with an IPC channel (by the runner)');
  process.exit(2);
}

const send = (message: ServerToRunner) => process.send!(message);
let servers: RunningServers | undefined;
let stopping = false;

async function start(msg: ServerStartMessage): Promise<void> {
  try {
    const cert = msg.cert ?? {
      certPem: readFileSync(required(msg.certFile, 'certFile'), 'utf8'),
      keyPem: readFileSync(required(msg.keyFile, 'keyFile'), 'utf8'),
    };
    servers = await startServers({
      host: msg.host,
      ports: msg.ports,
      protocols: msg.protocols,
      cert,
      congestionControl: msg.congestionControl,
      pacing: msg.pacing,
      scheduling: msg.scheduling,
      maxBodyBytes: msg.maxBodyBytes,
      responseDelayMs: msg.responseDelayMs,
    });
    send({ type: 'ready', pid: process.pid, urls: servers.urls, ports: servers.ports });
  } catch (error) {
    send({
      type: 'error',
      code: error instanceof BenchError ? error.code : 'E_SERVER_START',
      message: error instanceof Error ? error.message : String(error),
      userError: error instanceof UserError,
    });
  }
}

async function stop(code: number): Promise<never> {
  if (!stopping) {
    stopping = true;
    // Bounded: a stuck close must not keep the process (and the namespace) alive.
    const timeout = new Promise((resolve) => setTimeout(resolve, 2000).unref());
    await Promise.race([servers?.close(), timeout]);
  }
  process.exit(code);
}

function required(value: string | undefined, name: string): string {
  if (!value) throw new BenchError('E_SERVER_START', `start message needs cert or ${name}`);
  return value;
}

process.on('message', (raw) => {
  const msg = raw as RunnerToServer;
  switch (msg.type) {
    case 'start':
      void start(msg);
      break;
    case 'cpu': {
      const u = process.cpuUsage();
      send({ type: 'cpu', requestId: msg.requestId, userMs: u.user / 1000, systemMs: u.system / 1000, totalMs: (u.user + u.system) / 1000 });
      break;
    }
    case 'quic-stats':
      send({ type: 'quic-stats', requestId: msg.requestId, connections: servers?.takeQuicSenderStats() ?? [] });
      break;
    case 'stop':
      if (process.connected) send({ type: 'stopped' });
      void stop(0);
      break;
  }
});
process.on('disconnect', () => void stop(0));
process.on('SIGTERM', () => void stop(0));
process.on('SIGINT', () => void stop(0));
