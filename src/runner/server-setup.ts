/**
 * Brings up the scenario's server side for one network variant and, for servers bench did not
 * write, checks them before any cell: each protocol's port answers (within the command's start
 * timeout) and the routes the workloads need give the same sizes and links as bench's own. A
 * failure here is the user's to fix (exit 2, nothing measured), with the server named and, for a
 * command, its last output.
 */
import type { SenderPacing } from '../../netem/model.ts';
import path from 'node:path';
import type { Topology } from '../../netem/types.ts';
import type { Protocol } from '../drivers/types.ts';
import type { Scenario } from '../scenario/types.ts';
import type { GeneratedCertificate } from '../tls/cert.ts';
import { UserError } from '../util/errors.ts';
import type { ChildHandle } from './child.ts';
import type { ClientToRunner, RunnerToClient } from './ipc.ts';
import { externalServers, startServerFromCommand, startServerProcess, type ServerHandle } from './server-handle.ts';
import type { ServerCheckOutcome } from './server-check.ts';
import { firstPaths, routeChecks, type SiteRoute } from './site.ts';

export interface ServerSetup {
  scenario: Scenario;
  topology: Topology;
  cert: GeneratedCertificate;
  congestionControl?: 'cubic' | 'reno' | 'bbr';
  pacing?: SenderPacing;
  /** The routes the workloads (warm-up included) request; written for a command's {{site}}. */
  routes: readonly SiteRoute[];
  /** Built-in servers only: delay before every response (`bench run --server-delay`). */
  responseDelayMs?: number;
  /** Run directory (server.log goes there) and the network variant's label. */
  runDir: string;
  label: string;
  /** Environment of the server process (default: the runner's). */
  env?: NodeJS.ProcessEnv;
}

export async function startServer(setup: ServerSetup): Promise<ServerHandle> {
  const { scenario, topology } = setup;
  const servers = scenario.servers;
  switch (servers.kind) {
    case 'builtin':
      return startServerProcess({
        prefix: topology.commandPrefix('server'),
        host: topology.serverAddress,
        protocols: scenario.protocols,
        cert: setup.cert,
        congestionControl: setup.congestionControl,
        pacing: setup.pacing,
        scheduling: scenario.scheduling,
        responseDelayMs: setup.responseDelayMs,
        env: setup.env,
      });
    case 'external':
      return externalServers(servers.targets, scenario.protocols);
    case 'command':
      return startServerFromCommand({
        spec: servers,
        protocols: scenario.protocols,
        prefix: topology.commandPrefix('server'),
        host: topology.serverAddress,
        cert: setup.cert,
        routes: setup.routes,
        logFile: path.join(setup.runDir, 'server.log'),
        label: setup.label,
        env: setup.env,
      });
  }
}

let nextCheckId = 1;

/**
 * For servers bench did not write: asks the client process (which reaches the server over the
 * link) to wait for each protocol's port and check the routes; records the Server and Alt-Svc
 * headers it saw. A server that exits meanwhile ends the check with its output.
 */
export async function checkServer(
  server: ServerHandle,
  client: ChildHandle<RunnerToClient>,
  opts: { scenario: Scenario; routes: readonly SiteRoute[]; workloads: Scenario['workloads']; signal: AbortSignal },
): Promise<void> {
  if (server.startupWaitMs === undefined) return;
  // Interrupted while a server is starting: stop waiting, the teardown follows.
  const interrupted = new Promise<never>((_, reject) => {
    const abort = () => reject(opts.signal.reason ?? new Error('aborted'));
    if (opts.signal.aborted) abort();
    else opts.signal.addEventListener('abort', abort, { once: true });
  });
  interrupted.catch(() => {});
  const checks = routeChecks(opts.routes, firstPaths(opts.workloads));
  // The check crosses the scenario's link: on a lossy path a SYN or handshake lost in a burst
  // costs seconds (1 s, 2 s, 4 s ... retransmission timeouts), so an attempt gets the scenario's
  // own request timeout, never a shorter fixed one that would call a slow link a broken server.
  const attemptTimeoutMs = opts.scenario.timeouts.requestMs;
  for (const protocol of opts.scenario.protocols) {
    const requestId = nextCheckId++;
    client.send({
      type: 'check-server',
      requestId,
      check: { protocol, target: server.targets[protocol]!, waitMs: server.startupWaitMs, attemptTimeoutMs, routes: checks },
    });
    const answer = client.waitFor<Extract<ClientToRunner, { type: 'server-checked' }>>(
      (m) => m.type === 'server-checked' && m.requestId === requestId,
      server.startupWaitMs + attemptTimeoutMs * (checks.length + 2),
      `check of the ${protocol} server`,
    );
    const died = server.exited.then((error): never => {
      throw new UserError('E_SERVER_EXITED', error.message);
    });
    const outcome = await Promise.race([answer.then((m) => m.outcome), died, interrupted]);
    if (!outcome.ok) throw checkFailure(server, protocol, outcome, opts.scenario);
    const implementation = server.implementations[protocol]!;
    if (outcome.serverHeader !== undefined) implementation.serverHeader = outcome.serverHeader;
    if (outcome.altSvc !== undefined) implementation.altSvc = outcome.altSvc;
  }
}

function checkFailure(server: ServerHandle, protocol: Protocol, outcome: Extract<ServerCheckOutcome, { ok: false }>, scenario: Scenario): UserError {
  const who = server.describe(protocol);
  const output = server.outputTail?.();
  const shown = output ? `\n  its last output:\n${output.replace(/^/gm, '    ')}` : '';
  if (outcome.stage === 'route') {
    return new UserError(
      'E_SERVER_ROUTES',
      `${who}: ${outcome.problem}${shown}\nA server other than bench's must answer bench's routes: /bytes/<n> with n bytes, and the page workload's documents (README, "Bring your own server").`,
    );
  }
  if (scenario.servers.kind === 'command') {
    return new UserError(
      'E_SERVER_NOT_ANSWERING',
      `${who}: did not answer within ${server.startupWaitMs! / 1000} s (${outcome.problem})${shown}\nCheck that it listens on {{host}}:{{port.${protocol}}} with the run's certificate, or raise \`servers.startTimeout\`.`,
    );
  }
  return new UserError('E_SERVER_NOT_ANSWERING', `${who} does not answer: ${outcome.problem}. Start the server, or fix \`servers.${protocol}\` in ${scenario.file}.`);
}
