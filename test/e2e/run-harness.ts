/**
 * Drives `bench run` as a user would (the real binary in a child process) and inspects what a run
 * leaves on the machine: namespaces, host devices, processes, owner records, host network state.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const BIN = path.join(ROOT, 'src/bin.mjs');
/** Where a shaped run records its owner (netem/cleanup.ts OWNER_DIR). */
export const OWNER_DIR = '/run/bench-netem';
/** argv marker of the userspace link process (netem/backend.ts LINK_PROCESS_MARKER). */
export const LINK_MARKER = '--bench-netem-run=';

/** Protocols this build can run end to end: h3 only when both its server and its driver exist. */
export function availableProtocols(): string[] {
  const h3 = existsSync(path.join(ROOT, 'servers/h3.ts')) && existsSync(path.join(ROOT, 'src/drivers/h3.ts'));
  return h3 ? ['h1', 'h2', 'h3'] : ['h1', 'h2'];
}

/**
 * A short shaped scenario (5 ms each way) whose cells last a few seconds each, so a run can be
 * interrupted after its first cell and before its last. The userspace backend by default: it is the
 * one with a link process of its own to kill (and the only one on kernels without sch_netem).
 */
export function shapedScenario(opts: { name: string; requests: number; repetitions: number; backend?: 'auto' | 'userspace' }): string {
  return [
    `name: ${opts.name}`,
    `protocols: [${availableProtocols().join(', ')}]`,
    `repetitions: ${opts.repetitions}`,
    'seed: 7',
    'network:',
    `  backend: ${opts.backend ?? 'userspace'}`,
    '  link:',
    '    delay: 5ms',
    'workloads:',
    '  - type: requests',
    '    name: many',
    `    requests: ${opts.requests}`,
    '    concurrency: 10',
    '    connections: 1',
    '    size: 1KB',
    '    warmup: 0',
    'timeouts:',
    '  request: 10s',
    '  cell: 1m',
    '',
  ].join('\n');
}

export function writeScenario(dir: string, file: string, text: string): string {
  const p = path.join(dir, file);
  writeFileSync(p, text);
  return p;
}

export interface BenchRun {
  child: ChildProcess;
  pid: number;
  outDir: string;
  stderr(): string;
  /** Resolves with the exit code (128+n when a signal ended the runner itself). */
  exited: Promise<number>;
}

/**
 * `nodeArgs` go to the runner's Node itself (e.g. `--import` of a fault-injecting preload); `env` to
 * the runner and, inherited, to its server and client processes.
 */
export function startBench(args: string[], outDir?: string, nodeArgs: string[] = [], env: NodeJS.ProcessEnv = {}): BenchRun {
  const argv = [...nodeArgs, BIN, ...args, ...(outDir ? ['--out', outDir, '--quiet'] : [])];
  const child = spawn(process.execPath, argv, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, FORCE_COLOR: '0', ...env } });
  let err = '';
  child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
  child.stdout!.resume();
  const exited = new Promise<number>((resolve) => {
    child.on('exit', (code, signal) => resolve(code ?? 128 + (signal ? signalNumber(signal) : 0)));
  });
  return { child, pid: child.pid!, outDir: outDir ?? '', stderr: () => err, exited };
}

function signalNumber(signal: NodeJS.Signals): number {
  return { SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGTERM: 15 }[signal as string] ?? 0;
}

/** Runs bench to completion (bounded) and returns its exit code and stderr. */
export async function runBench(args: string[], outDir: string | undefined, timeoutMs: number): Promise<{ code: number; stderr: string }> {
  const run = startBench(args, outDir);
  const code = await withTimeout(run.exited, timeoutMs, `bench ${args.join(' ')}`, () => run.child.kill('SIGKILL'));
  return { code, stderr: run.stderr() };
}

export async function withTimeout<T>(p: Promise<T>, ms: number, what: string, onTimeout?: () => void): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      onTimeout?.();
      reject(new Error(`${what}: not done within ${ms} ms`));
    }, ms);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export function rawLines(outDir: string): Array<Record<string, unknown>> {
  const file = path.join(outDir, 'raw.jsonl');
  if (!existsSync(file)) return [];
  const out: Array<Record<string, unknown>> = [];
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    try {
      out.push(JSON.parse(line) as Record<string, unknown>);
    } catch {
      // a line being written right now
    }
  }
  return out;
}

/** Waits until raw.jsonl holds `count` lines of `type` (cell-end: successful ones); returns the run id. */
export async function waitForCellEnds(run: BenchRun, count: number, timeoutMs: number, type: 'cell-end' | 'cell-start' = 'cell-end'): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let exitCode: number | undefined;
  void run.exited.then((c) => (exitCode = c));
  while (Date.now() < deadline) {
    const lines = rawLines(run.outDir);
    const ended = lines.filter((l) => l.type === type && !l.error).length;
    const runId = lines.find((l) => l.type === 'run-start')?.runId as string | undefined;
    if (runId && ended >= count) return runId;
    if (exitCode !== undefined) throw new Error(`bench exited (${exitCode}) before ${count} ${type} line(s):\n${run.stderr()}`);
    await sleep(100);
  }
  throw new Error(`no ${count} ${type} line(s) in raw.jsonl within ${timeoutMs} ms:\n${run.stderr()}`);
}

// ---------------------------------------------------------------------------------------------
// Processes

export interface ProcInfo {
  pid: number;
  ppid: number;
  argv: string[];
}

function readProc(pid: number): ProcInfo | undefined {
  try {
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
    // Field 4 of stat is the ppid; the command name (field 2) may hold spaces, so split after ')'.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    if (argv.length === 0) return undefined; // a zombie or a kernel thread
    return { pid, ppid, argv };
  } catch {
    return undefined;
  }
}

export function allProcesses(): ProcInfo[] {
  return readdirSync('/proc')
    .filter((e) => /^\d+$/.test(e))
    .map((e) => readProc(Number(e)))
    .filter((p): p is ProcInfo => p !== undefined);
}

/** Every live descendant of `pid` (children of `ip netns exec` are node itself: exec keeps the pid). */
export function descendants(pid: number): ProcInfo[] {
  const procs = allProcesses();
  const out: ProcInfo[] = [];
  const frontier = [pid];
  while (frontier.length > 0) {
    const parent = frontier.pop()!;
    for (const p of procs) {
      if (p.ppid === parent) {
        out.push(p);
        frontier.push(p.pid);
      }
    }
  }
  return out;
}

export type Role = 'server' | 'client' | 'link';

export function roleOf(p: ProcInfo): Role | undefined {
  const args = p.argv.join(' ');
  if (args.includes('servers/process.ts')) return 'server';
  if (args.includes('runner/client-process.ts')) return 'client';
  if (args.includes('userspace/link-process.ts')) return 'link';
  return undefined;
}

/** The run's server, client and link processes, found among the runner's descendants. */
export function runProcesses(runnerPid: number): Record<Role, ProcInfo[]> {
  const out: Record<Role, ProcInfo[]> = { server: [], client: [], link: [] };
  for (const p of descendants(runnerPid)) {
    const role = roleOf(p);
    if (role) out[role].push(p);
  }
  return out;
}

/** Those of `procs` still alive as the same program (a reused pid runs something else). */
export function stillAlive(procs: ProcInfo[]): ProcInfo[] {
  return procs.filter((p) => {
    const now = readProc(p.pid);
    return now !== undefined && now.argv.join('\0') === p.argv.join('\0');
  });
}

/** Processes carrying the run's id: the link process's argv marker. */
export function processesOfRun(runId: string): ProcInfo[] {
  return allProcesses().filter((p) => p.argv.some((a) => a === `${LINK_MARKER}${runId}`));
}

// ---------------------------------------------------------------------------------------------
// Network state

function sh(argv: string[]): string {
  const r = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8' });
  return `${r.stdout ?? ''}${r.stderr ? `\n${r.stderr}` : ''}`;
}

export function namespaces(): string[] {
  return sh(['ip', 'netns', 'list'])
    .split('\n')
    .map((l) => l.trim().split(/\s+/)[0] ?? '')
    .filter(Boolean);
}

export function namespacesOfRun(runId: string): string[] {
  return namespaces().filter((n) => n.startsWith(`bnch-${runId}-`));
}

/** The kernel's ids (nsfs inodes) of the run's namespaces, to find processes inside them after their names are gone. */
export function namespaceInodes(runId: string): number[] {
  return namespacesOfRun(runId).map((ns) => statSync(path.join('/run/netns', ns)).ino);
}

/** Processes whose network namespace is one of `inodes` (a namespace lives on while a process holds it). */
export function processesInNamespaces(inodes: number[]): ProcInfo[] {
  if (inodes.length === 0) return [];
  return allProcesses().filter((p) => {
    try {
      const m = /net:\[(\d+)\]/.exec(readlinkSync(`/proc/${p.pid}/ns/net`));
      return m !== null && inodes.includes(Number(m[1]));
    } catch {
      return false;
    }
  });
}

/** Host network devices with our prefix. */
export function hostDevicesWithPrefix(): string[] {
  return sh(['ip', '-o', 'link', 'show'])
    .split('\n')
    .map((l) => /^\d+:\s+([^:@\s]+)/.exec(l)?.[1])
    .filter((n): n is string => n !== undefined && n.startsWith('bnch'));
}

export function ownerRecordOf(runId: string): boolean {
  return existsSync(path.join(OWNER_DIR, `bnch-${runId}.json`));
}

export function ownerRecords(): Array<{ runId: string; pid: number }> {
  if (!existsSync(OWNER_DIR)) return [];
  const out: Array<{ runId: string; pid: number }> = [];
  for (const name of readdirSync(OWNER_DIR)) {
    try {
      out.push(JSON.parse(readFileSync(path.join(OWNER_DIR, name), 'utf8')));
    } catch {
      // removed or torn while reading
    }
  }
  return out;
}

export const HOST_SYSCTLS = ['net.ipv4.tcp_congestion_control', 'net.ipv4.ip_forward', 'net.core.default_qdisc'];

/** The host namespace's network state a run must leave exactly as it found it. */
export function hostSnapshot(): Record<string, string> {
  const snap: Record<string, string> = {
    // Address lifetimes count down by themselves on DHCP/SLAAC hosts: not ours to compare.
    'ip -d addr': sh(['ip', '-d', 'addr']).replace(/valid_lft \S+ preferred_lft \S+/g, 'lft'),
    'ip route': sh(['ip', 'route', 'show', 'table', 'all']),
    'ip -6 route': sh(['ip', '-6', 'route', 'show', 'table', 'all']),
    'ip rule': sh(['ip', 'rule']),
    'tc qdisc show': sh(['tc', 'qdisc', 'show']),
  };
  for (const k of HOST_SYSCTLS) snap[k] = sh(['sysctl', '-n', k]);
  return snap;
}

/** Polls `check` (which returns what is still wrong, or []) until it is empty or time runs out. */
export async function eventually<T>(check: () => T[], timeoutMs: number, pollMs = 100): Promise<T[]> {
  const deadline = Date.now() + timeoutMs;
  let left = check();
  while (left.length > 0 && Date.now() < deadline) {
    await sleep(pollMs);
    left = check();
  }
  return left;
}

/**
 * After a failed check left a runner to be killed: removes that run's namespaces, owner record and
 * processes (and nothing of any other run), so one failure does not leak into the next tests.
 */
export function removeRunLeftovers(runId: string, procs: ProcInfo[]): void {
  for (const p of [...stillAlive(procs), ...processesOfRun(runId)]) {
    try {
      process.kill(p.pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
  for (const ns of namespacesOfRun(runId)) spawnSync('ip', ['netns', 'del', ns]);
  rmSync(path.join(OWNER_DIR, `bnch-${runId}.json`), { force: true });
}
