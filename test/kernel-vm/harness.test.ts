/**
 * The kernel-test machine itself (vm.ts): a command runs as root inside Debian's kernel with the
 * project visible, its output streams back, its exit code comes out, and qemu never outlives the
 * run: not on timeout, not on abort, not when the harness process is interrupted or killed.
 */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { peerMissing } from '../support/peers.ts';
import { findKernel, missingRequirements, ROOT, runInVm } from './vm.ts';

const missing = missingRequirements();
const skip = peerMissing(missing.length === 0, `the kernel-test machine (${missing.join('; ')})`);

/** Boot under software emulation on a loaded 2-core machine, plus the command. */
const BOOT_MS = 120_000;

function alive(pid: number): boolean {
  try {
    // A zombie is gone for our purpose: it holds no memory, no CPU, no files.
    return !/^\S+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

/** qemu processes whose parent is `pid` (setpriv execs qemu, so the harness is its parent). */
function qemuChildrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid && readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes('qemu-system')) out.push(Number(entry));
    } catch {
      // gone
    }
  }
  return out;
}

async function eventually(check: () => boolean, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (check()) return true;
    await sleep(100);
  }
  return check();
}

describe.skipIf(skip)("kernel-test machine (Debian's kernel under qemu)", () => {
  it('runs a command as root with the project and the kernel backend\'s modules, streams its output, returns its exit code', async () => {
    const lines: string[] = [];
    let qemuPid: number | undefined;
    const r = await runInVm({
      command: [
        'echo "uid=$(id -u) kernel=$(uname -r) cwd=$(pwd)"',
        'for m in veth tun sch_netem sch_tbf; do test -d /sys/module/$m && echo "module $m"; done',
        'test -f package.json && echo "project visible"',
        'touch /usr/bench-vm-write-test && echo "root file system writable (in RAM)"',
        'echo "to stderr" >&2',
        'exit 7',
      ].join('; '),
      timeoutMs: BOOT_MS,
      onLine: (l) => lines.push(l),
      onStart: (pid) => (qemuPid = pid),
    });
    console.log(`kernel-test machine: boot ${r.bootMs} ms, whole run ${r.totalMs} ms`);
    expect(r.failure, r.console.slice(-3000)).toBeUndefined();
    expect(r.exitCode).toBe(7);
    expect(lines).toEqual([
      `uid=0 kernel=${findKernel()!.version} cwd=${ROOT.replace(/\/$/, '')}`,
      'module veth',
      'module tun',
      'module sch_netem',
      'module sch_tbf',
      'project visible',
      'root file system writable (in RAM)',
      'to stderr',
    ]);
    expect(r.output).toBe(lines.map((l) => `${l}\n`).join(''));
    expect(r.bootMs).toBeGreaterThan(0);
    // The machine's writes stay in it: the host's file system is shared read-only.
    expect(existsSync('/usr/bench-vm-write-test')).toBe(false);
    expect(qemuPid).toBeDefined();
    expect(alive(qemuPid!)).toBe(false);
  }, BOOT_MS + 10_000);

  it('kills qemu when the time is up, and when the caller aborts', async () => {
    let timedOutPid: number | undefined;
    const timedOut = await runInVm({ command: 'sleep 600', timeoutMs: 3_000, onStart: (pid) => (timedOutPid = pid) });
    expect(timedOut.failure).toBe('timeout');
    expect(timedOut.exitCode).toBeUndefined();
    expect(alive(timedOutPid!)).toBe(false);

    const controller = new AbortController();
    let abortedPid: number | undefined;
    const aborted = await runInVm({
      command: 'echo started; sleep 600',
      timeoutMs: BOOT_MS,
      signal: controller.signal,
      onStart: (pid) => (abortedPid = pid),
      onLine: (l) => l === 'started' && controller.abort(),
    });
    expect(aborted.failure, aborted.console.slice(-3000)).toBe('aborted');
    expect(aborted.output).toBe('started\n');
    expect(alive(abortedPid!)).toBe(false);
  }, BOOT_MS + 20_000);

  for (const { signal, code } of [
    { signal: 'SIGINT', code: 130 },
    { signal: 'SIGKILL', code: 128 + 9 },
  ] as const) {
    it(`npm run vm: ${signal} to it ends the machine too (${signal === 'SIGKILL' ? "the kernel's parent-death signal" : 'its signal handler'})`, async () => {
      const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'test/kernel-vm/run.ts'), '--', 'echo started; sleep 600'], {
        cwd: ROOT,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let err = '';
      child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
      const exited = new Promise<number>((resolve) => child.on('exit', (c, s) => resolve(c ?? 128 + (s === 'SIGKILL' ? 9 : s === 'SIGINT' ? 2 : 0))));
      const started = new Promise<void>((resolve) => child.stdout!.on('data', (c: Buffer) => c.toString().includes('started') && resolve()));
      await Promise.race([started, exited.then(() => Promise.reject(new Error(`npm run vm exited before the command started:\n${err}`)))]);
      const qemu = qemuChildrenOf(child.pid!);
      expect(qemu, 'qemu under the harness').toHaveLength(1);
      child.kill(signal);
      expect(await exited).toBe(code);
      expect(await eventually(() => !alive(qemu[0]!), 10_000), `qemu ${qemu[0]} still running after ${signal}`).toBe(true);
    }, BOOT_MS + 20_000);
  }
});
