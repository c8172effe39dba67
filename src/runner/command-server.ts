/**
 * A server bench starts from the scenario's `servers: {command}`: placeholders filled in (command
 * and config template), the run's certificate and the workloads' files written into a scratch
 * directory, the command started in the server namespace in a process group of its own, its
 * output kept (server.log in the run directory, the last lines for messages), its CPU read from
 * /proc for the whole group, and the group stopped (SIGTERM, then SIGKILL) on every exit path.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import dgram from 'node:dgram';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { registerTeardown } from '../../netem/cleanup.ts';
import type { Protocol } from '../drivers/types.ts';
import { fillPlaceholders, type PlaceholderName } from '../scenario/placeholders.ts';
import type { CommandServerSpec } from '../scenario/types.ts';
import type { GeneratedCertificate } from '../tls/cert.ts';
import { BenchError, UserError } from '../util/errors.ts';
import { writeSite, type SiteRoute } from './site.ts';

/** Inside the server namespace every port is free: a fixed, readable default. */
const NAMESPACE_PORT = 8443;
const STOP_GRACE_MS = 5000;
const VERSION_TIMEOUT_MS = 10_000;
const OUTPUT_LINES = 20;

export interface CommandServerOptions {
  spec: CommandServerSpec;
  /** argv prefix that runs a command in the server namespace ([] without one). */
  prefix: string[];
  /** Address the server listens on ({{host}}). */
  host: string;
  cert: GeneratedCertificate;
  /** Written into {{site}}. */
  routes: readonly SiteRoute[];
  /** The server's output is appended here. */
  logFile: string;
  /** What the log's header line names (the network variant). */
  label: string;
  /** Environment of the command (default: the runner's). */
  env?: NodeJS.ProcessEnv;
}

export interface CommandServer {
  ports: Record<Protocol, number>;
  /** The command line as run (placeholders filled in). */
  commandLine: string;
  /** First line of the `version` command's output, if the scenario gave one. */
  version?: string;
  /** Resolves when the command's process has exited, with an error naming it and its last output. */
  exited: Promise<Error>;
  /** The last lines it printed. */
  outputTail(): string;
  /** CPU time of its process group so far (clock-tick resolution, 10 ms). */
  cpuMs(): number;
  stop(): Promise<void>;
}

export async function startCommandServer(opts: CommandServerOptions): Promise<CommandServer> {
  const { spec } = opts;
  const version = spec.version === undefined ? undefined : await versionLine(spec.version, spec.cwd);
  const ports = await choosePorts(spec.ports, opts.prefix.length > 0, opts.host);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bench-server-'));
  let started: StartedGroup | undefined;
  try {
    // Servers may drop privileges (nginx workers run as nobody): the files must be readable.
    chmodSync(dir, 0o755);
    const site = path.join(dir, 'site');
    mkdirSync(site, { mode: 0o755 });
    writeSite(site, opts.routes);
    const values: Partial<Record<PlaceholderName, string>> = {
      cert: path.join(dir, 'cert.pem'),
      key: path.join(dir, 'key.pem'),
      host: opts.host,
      'port.h1': String(ports.h1),
      'port.h2': String(ports.h2),
      'port.h3': String(ports.h3),
      dir,
      site,
    };
    writeFileSync(values.cert!, opts.cert.certPem, { mode: 0o644 });
    writeFileSync(values.key!, opts.cert.keyPem, { mode: 0o600 });
    if (spec.config !== undefined) {
      values.config = path.join(dir, path.basename(spec.config));
      writeFileSync(values.config, fillPlaceholders(readFileSync(spec.config, 'utf8'), values), { mode: 0o644 });
    }
    const commandLine = fillPlaceholders(spec.command, values);
    appendFileSync(opts.logFile, `== network ${opts.label}: ${commandLine}\n`);
    started = startGroup(commandLine, opts.prefix, spec.cwd ?? process.cwd(), dir, opts.logFile, opts.env);
    const group = started;
    return {
      ports,
      commandLine,
      ...(version !== undefined && { version }),
      exited: group.exited,
      outputTail: () => group.tail.join('\n'),
      cpuMs: () => processGroupCpuMs(group.pgid),
      stop: async () => {
        await group.stop();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await started?.stop();
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}

/** The first line the version command prints (nginx -v writes to stderr). */
async function versionLine(command: string, cwd: string | undefined): Promise<string> {
  const r = await execa('sh', ['-c', command], { cwd, reject: false, timeout: VERSION_TIMEOUT_MS, stdin: 'ignore' });
  const first = (text: string) => text.split('\n').map((l) => l.trim()).find(Boolean);
  const line = first(r.stdout) ?? first(r.stderr);
  if (r.exitCode !== 0 || line === undefined) {
    const why = r.timedOut ? `did not finish within ${VERSION_TIMEOUT_MS / 1000} s` : r.exitCode !== 0 ? `failed (exit ${r.exitCode ?? r.signal})` : 'printed nothing';
    throw new UserError('E_SERVER_VERSION', `servers.version: \`${command}\` ${why}${line ? `: ${lastLines(`${r.stdout}\n${r.stderr}`, 5)}` : ''}; fix the command or remove \`version\``);
  }
  return line;
}

/**
 * Fixed ports as given; the others share one port bench picks. Outside a namespace a fixed port
 * must be free: otherwise bench would measure whatever already listens there.
 */
async function choosePorts(fixed: Partial<Record<Protocol, number>>, inNamespace: boolean, host: string): Promise<Record<Protocol, number>> {
  if (!inNamespace) {
    for (const [protocol, port] of Object.entries(fixed) as Array<[Protocol, number]>) {
      const transport = protocol === 'h3' ? 'udp' : 'tcp';
      if (!(await portFree(port, transport, host))) {
        throw new UserError('E_SERVER_PORT', `servers.ports.${protocol}: ${transport.toUpperCase()} port ${port} on ${host} is in use by another process; stop it, or pick another port (or leave the port out and bench picks a free one)`);
      }
    }
  }
  const picked = inNamespace ? NAMESPACE_PORT : await freeTcpUdpPort(host);
  return { h1: fixed.h1 ?? picked, h2: fixed.h2 ?? picked, h3: fixed.h3 ?? picked };
}

function portFree(port: number, transport: 'tcp' | 'udp', host: string): Promise<boolean> {
  return new Promise((resolve) => {
    if (transport === 'tcp') {
      const server = net.createServer();
      server.once('error', () => resolve(false));
      server.listen(port, host, () => server.close(() => resolve(true)));
    } else {
      const socket = dgram.createSocket('udp4');
      socket.once('error', () => resolve(false));
      socket.bind(port, host, () => socket.close(() => resolve(true)));
    }
  });
}

/** A port free for both TCP and UDP on `host` (HTTPS and HTTP/3 servers bind both). */
export async function freeTcpUdpPort(host: string): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const port = await new Promise<number>((resolve, reject) => {
      const server = net.createServer();
      server.once('error', reject);
      server.listen(0, host, () => {
        const p = (server.address() as net.AddressInfo).port;
        server.close(() => resolve(p));
      });
    });
    if (await portFree(port, 'udp', host)) return port;
  }
  throw new BenchError('E_SERVER_PORT', `no port free for both TCP and UDP on ${host} after 20 attempts`);
}

interface StartedGroup {
  pgid: number;
  tail: string[];
  exited: Promise<Error>;
  stop(): Promise<void>;
}

/**
 * Runs `sh -c <commandLine>` as the leader of a new process group. A simple command is exec'd,
 * so the server itself gets the parent-death signal and dies with a runner killed outright.
 */
function startGroup(commandLine: string, prefix: string[], cwd: string, dir: string, logFile: string, baseEnv: NodeJS.ProcessEnv = process.env): StartedGroup {
  const simple = !/[;&|()\n]/.test(commandLine);
  const argv = [...prefix, 'setpriv', '--pdeathsig', 'KILL', '--', 'sh', '-c', simple ? `exec ${commandLine}` : commandLine];
  // Servers keep state under XDG directories (Caddy: certificates, autosave.json): the scratch dir.
  const env = { ...baseEnv, XDG_CONFIG_HOME: path.join(dir, 'config'), XDG_DATA_HOME: path.join(dir, 'data') };
  const child: ChildProcess = spawn(argv[0]!, argv.slice(1), { cwd, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  const tail: string[] = [];
  let partial = '';
  const onOutput = (chunk: Buffer) => {
    appendFileSync(logFile, chunk);
    const lines = (partial + chunk.toString()).split('\n');
    partial = lines.pop()!;
    tail.push(...lines.filter((l) => l.trim() !== ''));
    tail.splice(0, Math.max(0, tail.length - OUTPUT_LINES));
  };
  child.stdout!.on('data', onOutput);
  child.stderr!.on('data', onOutput);
  const pgid = child.pid ?? -1;
  let exitedAlready = false;
  const exited = new Promise<Error>((resolve) => {
    const done = (how: string) => {
      exitedAlready = true;
      if (partial.trim()) tail.push(partial);
      const output = tail.length ? `\n  its last output:\n${indent(tail.join('\n'))}` : ' (it printed nothing)';
      // Exiting with success is what a daemonising server does: it left its work to a process bench cannot follow.
      const hint = how === 'code 0' ? '\nA server command must stay in the foreground until bench stops it (nginx: `daemon off;`).' : '';
      resolve(new BenchError('E_SERVER_EXITED', `the server command exited (${how}): ${commandLine}${output}${hint}`));
    };
    child.once('exit', (code, signal) => done(signal ?? `code ${code}`));
    child.once('error', (error) => done(`could not start: ${error.message}`));
  });
  const signalGroup = (signal: NodeJS.Signals) => {
    try {
      process.kill(-pgid, signal);
    } catch {
      // the group is gone
    }
  };
  const unregister = registerTeardown({ teardown: () => stop(), teardownSync: () => signalGroup('SIGKILL') });
  const settled = (ms: number) =>
    Promise.race([
      (async () => {
        await exited;
        while (groupMembers(pgid).length > 0) await new Promise((r) => setTimeout(r, 50));
      })(),
      new Promise((r) => setTimeout(r, ms).unref()),
    ]);
  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      if (pgid > 0) {
        signalGroup('SIGTERM');
        await settled(STOP_GRACE_MS);
        if (!exitedAlready || groupMembers(pgid).length > 0) {
          signalGroup('SIGKILL');
          await settled(STOP_GRACE_MS);
        }
      }
      unregister();
    })());
  return { pgid, tail, exited, stop };
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((l) => `    ${l}`)
    .join('\n');
}

function lastLines(text: string, n: number): string {
  return text.trim().split('\n').slice(-n).join(' / ');
}

/** /proc/<pid>/stat after the command name: state ppid pgrp ... utime(14) stime cutime cstime. */
function statFields(pid: string): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

/** Live (not zombie) processes of the group. */
function groupMembers(pgid: number): string[] {
  return readdirSync('/proc').filter((pid) => {
    if (!/^\d+$/.test(pid)) return false;
    const f = statFields(pid);
    return f !== undefined && Number(f[2]) === pgid && f[0] !== 'Z';
  });
}

let ticksPerSecond: number | undefined;

/** User + system time of every process in the group, including its children that have exited. */
function processGroupCpuMs(pgid: number): number {
  ticksPerSecond ??= Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  let ticks = 0;
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    const f = statFields(pid);
    if (!f || Number(f[2]) !== pgid) continue;
    ticks += Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
  }
  return (ticks * 1000) / ticksPerSecond;
}
