/**
 * Network namespaces of one run: names, creation, congestion control, path addressing, deletion.
 * Everything runs through a CommandRunner; nothing here touches the host namespace's configuration.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { UserError } from '../src/util/errors.ts';
import type { TcpCongestionControl } from './model.ts';
import type { CommandRunner } from './exec.ts';
import type { LinkUpContext, PathAddressing } from './backend.ts';

/** Every namespace, device and marker file we create starts with this; cleanup removes nothing else. */
export const NETNS_PREFIX = 'bnch-';

export interface NamespaceNames {
  client: string;
  server: string;
}

/** runIds become part of file names under /run/netns: keep them to a safe alphabet. */
export function sanitizeRunId(runId: string): string {
  const s = runId.replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, 60);
  if (!s) throw new UserError('NETEM_BAD_RUN_ID', `run id ${JSON.stringify(runId)} has no usable characters`);
  return s;
}

export function namespaceNames(runId: string): NamespaceNames {
  const id = sanitizeRunId(runId);
  return { client: `${NETNS_PREFIX}${id}-c`, server: `${NETNS_PREFIX}${id}-s` };
}

/** argv prefix that runs a command inside namespace `ns`. */
export function inNamespace(ns: string): string[] {
  return ['ip', 'netns', 'exec', ns];
}

export async function listNamespaces(exec: CommandRunner): Promise<string[]> {
  const { stdout } = await exec.run(['ip', 'netns', 'list']);
  // Lines look like "name (id: 3)" or just "name".
  return stdout
    .split('\n')
    .map((l) => l.trim().split(/\s+/)[0] ?? '')
    .filter((n) => n.length > 0);
}

export async function createNamespace(exec: CommandRunner, ns: string): Promise<void> {
  await exec.run(['ip', 'netns', 'add', ns]);
  await exec.run(['ip', '-n', ns, 'link', 'set', 'lo', 'up']);
}

/** pids of processes whose network namespace is `ns`. */
export async function namespacePids(exec: CommandRunner, ns: string): Promise<number[]> {
  const { stdout, exitCode } = await exec.run(['ip', 'netns', 'pids', ns], { check: false });
  if (exitCode !== 0) return [];
  return stdout
    .split(/\s+/)
    .filter(Boolean)
    .map(Number)
    .filter((n) => Number.isInteger(n) && n > 1 && n !== process.pid);
}

function signalAll(pids: number[], signal: NodeJS.Signals): void {
  for (const pid of pids) {
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Kill every process left inside `ns` (SIGTERM, then SIGKILL after `graceMs`), then delete it.
 * A namespace that does not exist is not an error: deletion is idempotent.
 */
export async function deleteNamespace(exec: CommandRunner, ns: string, graceMs = 1000): Promise<boolean> {
  if (!(await listNamespaces(exec)).includes(ns)) return false;
  let pids = await namespacePids(exec, ns);
  if (pids.length > 0) {
    signalAll(pids, 'SIGTERM');
    const deadline = Date.now() + graceMs;
    while (Date.now() < deadline && pids.some(alive)) await sleep(20);
    pids = pids.filter(alive);
    signalAll(pids, 'SIGKILL');
    for (let i = 0; i < 50 && pids.some(alive); i++) await sleep(20);
  }
  await exec.run(['ip', 'netns', 'del', ns], { check: false });
  return true;
}

/** Congestion controls the kernel can use now (the list is global; namespaces choose among it). */
export async function availableCongestionControls(exec: CommandRunner): Promise<string[]> {
  const { stdout } = await exec.run(['sysctl', '-n', 'net.ipv4.tcp_available_congestion_control']);
  return stdout.trim().split(/\s+/).filter(Boolean);
}

/**
 * Make `cc` available (loading tcp_<cc> when needed) or fail with a UserError saying how to fix it.
 * Loading a module is the one thing here that changes the host kernel; it changes no host setting.
 */
export async function ensureCongestionControl(exec: CommandRunner, cc: TcpCongestionControl): Promise<void> {
  if ((await availableCongestionControls(exec)).includes(cc)) return;
  const probe = await exec.run(['modprobe', `tcp_${cc}`], { check: false });
  if ((await availableCongestionControls(exec)).includes(cc)) return;
  const available = (await availableCongestionControls(exec)).join(', ');
  throw new UserError(
    'NETEM_CC_UNAVAILABLE',
    `TCP congestion control "${cc}" is not available in this kernel (available: ${available}; ` +
      `modprobe tcp_${cc}: ${probe.stderr.trim() || `exit ${probe.exitCode}`}); ` +
      `load the module (modprobe tcp_${cc}) or choose one of the available ones in the scenario's network.congestionControl`,
  );
}

/**
 * Make `cc` the default congestion control inside `ns` (a per-namespace sysctl), when the kernel
 * lets a namespace choose it: a namespace may only pick algorithms the host lists in
 * net.ipv4.tcp_allowed_congestion_control, a host setting we never change. Path routes carry
 * `congctl` (pathAddressingCommands), which needs no such permission, so traffic between the
 * namespaces uses `cc` either way; this default covers loopback traffic inside the namespace.
 */
export async function setNamespaceCongestionControl(
  exec: CommandRunner,
  ns: string,
  cc: TcpCongestionControl,
): Promise<{ ok: boolean; detail: string }> {
  const r = await exec.run([...inNamespace(ns), 'sysctl', '-q', '-w', `net.ipv4.tcp_congestion_control=${cc}`], { check: false });
  if (r.exitCode === 0) return { ok: true, detail: `namespace default ${cc}` };
  return { ok: false, detail: `namespace default not settable (${r.stderr.trim()}); ${cc} set on the path routes` };
}

/**
 * Every TCP connection starts fresh, as every QUIC connection does: Linux otherwise keeps each
 * closed connection's RTT (and cwnd, reordering) per destination in the namespace's tcp_metrics
 * and seeds the next connection's retransmission timeout from it, so a handshake under loss
 * would retransmit sooner in a run's later cells than in its first. A per-namespace sysctl.
 */
export async function disableTcpMetricsCache(exec: CommandRunner, ns: string): Promise<void> {
  await exec.run([...inNamespace(ns), 'sysctl', '-q', '-w', 'net.ipv4.tcp_no_metrics_save=1']);
}

export interface PathAddressingContext extends Pick<LinkUpContext, 'clientNs' | 'serverNs' | 'mtu'> {
  congestionControl?: TcpCongestionControl;
}

/** The commands that address the path devices and route over them; pure, so it is tested as a table. */
export function pathAddressingCommands(
  ctx: PathAddressingContext,
  addressing: readonly PathAddressing[],
): string[][] {
  // Per-route congestion control applies to both ends of every TCP connection over the paths.
  const cc = ctx.congestionControl ? ['congctl', ctx.congestionControl] : [];
  const c = ['ip', '-n', ctx.clientNs];
  const s = ['ip', '-n', ctx.serverNs];
  const cmds: string[][] = [];
  const server = addressing[0]?.serverAddress;
  if (server) cmds.push([...s, 'addr', 'add', `${server}/32`, 'dev', 'lo']);
  for (const a of addressing) {
    cmds.push([...c, 'link', 'set', 'dev', a.clientDevice, 'mtu', String(ctx.mtu), 'up']);
    cmds.push([...s, 'link', 'set', 'dev', a.serverDevice, 'mtu', String(ctx.mtu), 'up']);
    cmds.push([...c, 'addr', 'add', `${a.clientAddress}/32`, 'dev', a.clientDevice]);
    // Server side: each client (and its NAT-rebound) address is reached over its own path.
    cmds.push([...s, 'route', 'add', `${a.clientAddress}/32`, 'dev', a.serverDevice, 'src', a.serverAddress, ...cc]);
    cmds.push([...s, 'route', 'add', `${a.rebindAddress}/32`, 'dev', a.serverDevice, 'src', a.serverAddress, ...cc]);
    // Client side: traffic sourced from this path's address leaves through this path.
    cmds.push([...c, 'route', 'add', 'default', 'dev', a.clientDevice, 'src', a.clientAddress, ...cc, 'table', String(a.routeTable)]);
    cmds.push([...c, 'rule', 'add', 'from', a.clientAddress, 'lookup', String(a.routeTable), 'priority', String(1000 + a.index)]);
  }
  const first = addressing[0];
  if (first) cmds.push(defaultRouteCommand(ctx, first, 'add'));
  return cmds;
}

/**
 * The client namespace's default route over one path: what sockets bound to no address use. `replace`
 * moves it to another path, as a phone's OS does when it hands traffic from Wi-Fi to LTE.
 */
export function defaultRouteCommand(ctx: Pick<PathAddressingContext, 'clientNs' | 'congestionControl'>, path: PathAddressing, verb: 'add' | 'replace'): string[] {
  const cc = ctx.congestionControl ? ['congctl', ctx.congestionControl] : [];
  return ['ip', '-n', ctx.clientNs, 'route', verb, 'default', 'dev', path.clientDevice, 'src', path.clientAddress, ...cc];
}

export async function configurePathAddresses(
  exec: CommandRunner,
  ctx: PathAddressingContext,
  addressing: readonly PathAddressing[],
): Promise<void> {
  for (const argv of pathAddressingCommands(ctx, addressing)) await exec.run(argv);
}
