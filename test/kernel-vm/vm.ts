/**
 * Runs a command as root inside Debian's kernel under qemu, for the kernel backend's tests (tc netem
 * and veth need a kernel with sch_netem, which development and CI machines may lack; Debian's
 * linux-image-amd64 has it as a module).
 *
 * The machine: qemu-system-x86_64 (software emulation, TCG, unless BENCH_VM_ACCEL says otherwise),
 * the host's kernel image /boot/vmlinuz-<version> whose modules are under /lib/modules/<version>,
 * an initramfs of busybox-static, init.sh and the modules it loads (9p, virtio, overlay, veth, tun,
 * sch_netem, sch_tbf ... with their dependencies). The host's root file system is shared read-only
 * over 9p under a RAM overlay, so the project, node_modules and Node are visible at the same paths
 * and whatever the run writes stays in the machine; a per-run job directory (read-write 9p) carries
 * the command in and the exit code out. Output streams back over the serial console.
 *
 * qemu never outlives its run: it is killed on timeout, on abort, when the calling process exits,
 * and (setpriv --pdeathsig) when that process is killed outright.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, readSync, closeSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const INIT_SCRIPT = fileURLToPath(new URL('./init.sh', import.meta.url));

/** Loaded in the initramfs (with their dependencies): the file systems, then what the kernel backend uses. */
export const DEFAULT_MODULES = ['virtio_pci', '9pnet_virtio', '9p', 'overlay', 'veth', 'tun', 'sch_netem', 'sch_tbf', 'sch_htb'];

/** The Debian packages the harness needs, by what it looks for. */
export const VM_PACKAGES = 'qemu-system-x86 linux-image-amd64 busybox-static cpio';

export interface VmOptions {
  /** Shell command (sh -c) run as root inside the machine. */
  command: string;
  /** Working directory inside (the same path as on the host); default the project root. */
  cwd?: string;
  /** Environment of the command, on top of PATH, HOME, LANG and the host's CI. */
  env?: Record<string, string>;
  /** Kills qemu after this long (boot included). */
  timeoutMs: number;
  /** vCPUs (default 2: client, server and runner share them). */
  cpus?: number;
  memoryMb?: number;
  modules?: string[];
  /** A host directory the command may write to, mounted at /run/vm-out (env VM_OUT) inside. */
  outDir?: string;
  /** Each line the command prints, as it arrives. */
  onLine?: (line: string) => void;
  /** qemu's pid, once it runs. */
  onStart?: (pid: number) => void;
  signal?: AbortSignal;
}

export interface VmResult {
  /** The command's exit code; undefined when it did not end (timeout, abort, boot failure). */
  exitCode: number | undefined;
  /** What the command printed. */
  output: string;
  /** The whole console, boot messages included (for diagnosing a boot that failed). */
  console: string;
  /** From starting qemu to the command starting (host clock). */
  bootMs: number | undefined;
  /** From starting qemu to qemu's exit. */
  totalMs: number;
  /** Why the command has no exit code. */
  failure?: 'timeout' | 'aborted' | 'boot-failed' | 'qemu-exited';
  detail?: string;
}

export interface VmKernel {
  version: string;
  image: string;
  modulesDir: string;
}

/** A kernel image with its modules on this machine, sch_netem among them; BENCH_VM_KERNEL names one. */
export function findKernel(): VmKernel | undefined {
  const wanted = process.env.BENCH_VM_KERNEL;
  const images = wanted ? [wanted] : existsSync('/boot') ? readdirSync('/boot').filter((f) => f.startsWith('vmlinuz-')).map((f) => `/boot/${f}`) : [];
  const found = images
    .map((image) => {
      const version = path.basename(image).replace(/^vmlinuz-/, '');
      return { version, image, modulesDir: `/lib/modules/${version}` };
    })
    .filter((k) => existsSync(k.image) && existsSync(path.join(k.modulesDir, 'kernel/net/sched/sch_netem.ko')));
  return found.sort((a, b) => b.version.localeCompare(a.version, undefined, { numeric: true }))[0];
}

function onPath(bin: string): string | undefined {
  for (const dir of (process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin').split(':')) {
    const p = path.join(dir, bin);
    if (existsSync(p)) return p;
  }
  return undefined;
}

/** Whether an ELF executable has no program interpreter (runs in an initramfs without libc). */
export function isStaticElf(file: string): boolean {
  const fd = openSync(file, 'r');
  try {
    const header = Buffer.alloc(64);
    readSync(fd, header, 0, 64, 0);
    if (header.readUInt32BE(0) !== 0x7f454c46 || header[4] !== 2) return false; // ELF, 64-bit
    const phoff = Number(header.readBigUInt64LE(32));
    const phentsize = header.readUInt16LE(54);
    const phnum = header.readUInt16LE(56);
    const table = Buffer.alloc(phentsize * phnum);
    readSync(fd, table, 0, table.length, phoff);
    for (let i = 0; i < phnum; i++) if (table.readUInt32LE(i * phentsize) === 3) return false; // PT_INTERP
    return true;
  } finally {
    closeSync(fd);
  }
}

/** What this machine lacks to run the VM ([] = nothing), each with the package that brings it. */
export function missingRequirements(): string[] {
  const missing: string[] = [];
  if (!onPath('qemu-system-x86_64')) missing.push('qemu-system-x86_64 (apt-get install qemu-system-x86)');
  const busybox = ['/bin/busybox', '/usr/bin/busybox'].find((p) => existsSync(p));
  if (!busybox || !isStaticElf(busybox)) missing.push('a static busybox (apt-get install busybox-static)');
  if (!onPath('cpio')) missing.push('cpio (apt-get install cpio)');
  if (!onPath('setpriv')) missing.push('setpriv (apt-get install util-linux)');
  if (!findKernel()) missing.push('a kernel image with sch_netem in /boot and /lib/modules (apt-get install linux-image-amd64)');
  return missing;
}

/** `modules` and everything they depend on, dependencies first, from the kernel's modules.dep. */
export function resolveModules(kernel: VmKernel, modules: readonly string[]): Array<{ name: string; file: string }> {
  const deps = new Map<string, { file: string; deps: string[] }>();
  const nameOf = (rel: string) => path.basename(rel).replace(/\.ko(\.\w+)?$/, '').replace(/-/g, '_');
  for (const line of readFileSync(path.join(kernel.modulesDir, 'modules.dep'), 'utf8').split('\n')) {
    const [file, rest] = line.split(':');
    if (!file || rest === undefined) continue;
    deps.set(nameOf(file), { file: path.join(kernel.modulesDir, file), deps: rest.trim().split(/\s+/).filter(Boolean).map(nameOf) });
  }
  const builtin = new Set(
    existsSync(path.join(kernel.modulesDir, 'modules.builtin'))
      ? readFileSync(path.join(kernel.modulesDir, 'modules.builtin'), 'utf8').split('\n').filter(Boolean).map(nameOf)
      : [],
  );
  const out: Array<{ name: string; file: string }> = [];
  const seen = new Set<string>();
  const visit = (name: string) => {
    const key = name.replace(/-/g, '_');
    if (seen.has(key)) return;
    seen.add(key);
    const m = deps.get(key);
    if (!m) {
      if (builtin.has(key)) return;
      throw new Error(`kernel ${kernel.version} has no module ${name}`);
    }
    for (const d of m.deps) visit(d);
    if (/\.ko\.\w+$/.test(m.file)) throw new Error(`module ${m.file} is compressed; busybox insmod takes plain .ko files`);
    out.push({ name: key, file: m.file });
  };
  for (const m of modules) visit(m);
  return out;
}

/** Writes the initramfs (an uncompressed newc cpio archive) for `modules` into `dir`; returns its path. */
export function buildInitramfs(dir: string, kernel: VmKernel, modules: readonly string[], overlayMb: number): string {
  const tree = path.join(dir, 'initramfs');
  for (const d of ['bin', 'modules', 'proc', 'sys', 'dev']) mkdirSync(path.join(tree, d), { recursive: true });
  const busybox = ['/bin/busybox', '/usr/bin/busybox'].find((p) => existsSync(p) && isStaticElf(p));
  if (!busybox) throw new Error('no static busybox (apt-get install busybox-static)');
  copyFileSync(busybox, path.join(tree, 'bin/busybox'));
  copyFileSync(INIT_SCRIPT, path.join(tree, 'init'));
  const resolved = resolveModules(kernel, modules);
  for (const m of resolved) copyFileSync(m.file, path.join(tree, 'modules', `${m.name}.ko`));
  writeFileSync(path.join(tree, 'modules.list'), resolved.map((m) => m.name).join('\n') + '\n');
  writeFileSync(path.join(tree, 'overlay.size'), `${overlayMb}m\n`);
  spawnSync('chmod', ['0755', path.join(tree, 'init'), path.join(tree, 'bin/busybox')]);
  const files = spawnSync('find', ['.'], { cwd: tree, encoding: 'utf8' }).stdout;
  const archive = path.join(dir, 'initramfs.cpio');
  const r = spawnSync('sh', ['-c', 'cpio --quiet -o -H newc > "$1"', 'sh', archive], { cwd: tree, input: files, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`cpio failed: ${r.stderr}`);
  rmSync(tree, { recursive: true, force: true });
  return archive;
}

function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** Every qemu this process started and has not seen exit: killed when the process exits. */
const live = new Set<ChildProcess>();
let exitHookInstalled = false;
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const q of live) q.kill('SIGKILL');
  });
}

const READY = /@@bench-vm:ready ([\d.]+)@@/;
const EXIT = /@@bench-vm:exit (\d+)@@/;
const BOOT_FAILED = /@@bench-vm:boot-failed (.*)@@/;

/** Boots the machine, runs `opts.command` in it and returns when qemu has exited. Never leaves qemu running. */
export async function runInVm(opts: VmOptions): Promise<VmResult> {
  const kernel = findKernel();
  if (!kernel) throw new Error(`no kernel image with sch_netem found (${VM_PACKAGES})`);
  const memoryMb = opts.memoryMb ?? 3072;
  const job = mkdtempSync(path.join(os.tmpdir(), 'bench-vm-'));
  try {
    const initramfs = buildInitramfs(job, kernel, opts.modules ?? DEFAULT_MODULES, Math.floor(memoryMb / 2));
    const jobDir = path.join(job, 'share');
    mkdirSync(jobDir);
    const env: Record<string, string> = {
      PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
      HOME: '/root',
      LANG: 'C.UTF-8',
      // V8 checks WebAssembly bounds with guard pages and a SIGSEGV handler; under software
      // emulation with two vCPUs that handler sometimes sees a fault it does not own ("memory
      // access out of bounds" in tsx's wasm lexer, or a segmentation fault) while a process
      // starts. Inline bound checks avoid it.
      NODE_OPTIONS: '--disable-wasm-trap-handler',
      ...(process.env.CI ? { CI: process.env.CI } : {}),
      ...(opts.outDir ? { VM_OUT: '/run/vm-out' } : {}),
      ...opts.env,
    };
    writeFileSync(
      path.join(jobDir, 'command.sh'),
      [
        ...Object.entries(env).map(([k, v]) => `export ${k}=${shellQuote(v)}`),
        `cd ${shellQuote(opts.cwd ?? ROOT)} || exit 125`,
        `exec /bin/sh -c ${shellQuote(opts.command)} 2>&1`,
        '',
      ].join('\n'),
    );
    const accel = process.env.BENCH_VM_ACCEL ?? 'tcg,thread=multi';
    const qemuArgs = [
      '-nodefaults', '-no-user-config', '-display', 'none', '-no-reboot',
      '-accel', accel, '-cpu', 'max', '-smp', String(opts.cpus ?? 2), '-m', String(memoryMb),
      // qboot starts the kernel ~2 s sooner than SeaBIOS under emulation.
      ...(existsSync('/usr/share/qemu/qboot.rom') ? ['-bios', '/usr/share/qemu/qboot.rom'] : []),
      '-kernel', kernel.image, '-initrd', initramfs,
      // tsc=reliable: under TCG every vCPU reads the host's TSC, so they agree; without it the kernel
      // falls back to the HPET, whose every read is an emulated MMIO access.
      '-append', 'console=ttyS0 quiet loglevel=3 panic=-1 tsc=reliable mitigations=off random.trust_cpu=on',
      '-chardev', 'stdio,id=console,signal=off', '-serial', 'chardev:console',
      '-virtfs', 'local,path=/,mount_tag=root,security_model=none,readonly=on,multidevs=remap',
      '-virtfs', `local,path=${jobDir},mount_tag=job,security_model=none`,
      ...(opts.outDir ? ['-virtfs', `local,path=${path.resolve(opts.outDir)},mount_tag=out,security_model=none`] : []),
    ];
    installExitHook();
    const started = Date.now();
    // --pdeathsig: qemu dies with the process that started it, even one killed by SIGKILL.
    const qemu = spawn('setpriv', ['--pdeathsig', 'KILL', '--', 'qemu-system-x86_64', ...qemuArgs], { stdio: ['pipe', 'pipe', 'pipe'] });
    live.add(qemu);
    if (qemu.pid !== undefined) opts.onStart?.(qemu.pid);
    let consoleText = '';
    let output = '';
    let bootMs: number | undefined;
    let exitCode: number | undefined;
    let failure: VmResult['failure'];
    let detail: string | undefined;
    let pending = '';
    const onLine = (raw: string) => {
      const line = raw.replace(/\r/g, '');
      consoleText += line + '\n';
      if (bootMs === undefined) {
        const ready = READY.exec(line);
        if (ready) bootMs = Date.now() - started;
        const bad = BOOT_FAILED.exec(line);
        if (bad) {
          failure = 'boot-failed';
          detail = bad[1];
        }
        return;
      }
      const exit = EXIT.exec(line);
      if (exit && exitCode === undefined) {
        exitCode = Number(exit[1]);
        return;
      }
      if (exitCode !== undefined) return;
      output += line + '\n';
      opts.onLine?.(line);
    };
    qemu.stdout!.setEncoding('utf8');
    qemu.stdout!.on('data', (chunk: string) => {
      pending += chunk;
      const lines = pending.split('\n');
      pending = lines.pop()!;
      for (const l of lines) onLine(l);
    });
    let stderr = '';
    qemu.stderr!.setEncoding('utf8');
    qemu.stderr!.on('data', (c: string) => (stderr += c));
    const kill = (why: NonNullable<VmResult['failure']>) => {
      if (exitCode === undefined) failure ??= why;
      qemu.kill('SIGKILL');
    };
    const timer = setTimeout(() => kill('timeout'), opts.timeoutMs);
    const onAbort = () => kill('aborted');
    if (opts.signal?.aborted) onAbort();
    opts.signal?.addEventListener('abort', onAbort);
    await new Promise<void>((resolve) => qemu.on('close', () => resolve()));
    clearTimeout(timer);
    opts.signal?.removeEventListener('abort', onAbort);
    live.delete(qemu);
    if (pending) onLine(pending);
    // The console line can be lost if qemu is killed while writing it; the job directory has it too.
    if (exitCode === undefined && failure === undefined && existsSync(path.join(jobDir, 'exit-code'))) {
      exitCode = Number(readFileSync(path.join(jobDir, 'exit-code'), 'utf8').trim());
    }
    if (exitCode === undefined && failure === undefined) {
      failure = bootMs === undefined ? 'boot-failed' : 'qemu-exited';
      detail = stderr.trim() || `qemu exited (${qemu.exitCode ?? qemu.signalCode}) before the command ended`;
    }
    if (failure) exitCode = undefined;
    return { exitCode, output, console: consoleText, bootMs, totalMs: Date.now() - started, failure, detail: detail ?? (stderr.trim() || undefined) };
  } finally {
    rmSync(job, { recursive: true, force: true });
  }
}

/** The kernel backend's suite, as run inside the machine (test/kernel/, its own vitest config). */
export const KERNEL_SUITE_COMMAND = 'node node_modules/vitest/vitest.mjs run --config test/kernel/vitest.config.ts --reporter=verbose';

/**
 * The part of the suite that fits CI's time (`BENCH_KERNEL_SUITE=quick`): what netem and tbf decide,
 * the drop and delivery logs, the link's teardown, `bench doctor --measure --backend kernel` and
 * auto's verdict. The whole-run files (3-runs, 4-teardown) start bench's processes under software
 * emulation, which costs tens of minutes on a 2-core machine.
 */
export const KERNEL_SUITE_QUICK_FILES = ['test/kernel/1-link.test.ts', 'test/kernel/2-doctor.test.ts'];

/** The suite's command for `BENCH_KERNEL_SUITE` (quick, or the whole suite when unset or `all`). */
export function kernelSuiteCommand(which = process.env.BENCH_KERNEL_SUITE ?? 'all'): string {
  if (which === 'all') return KERNEL_SUITE_COMMAND;
  if (which === 'quick') return `${KERNEL_SUITE_COMMAND} ${KERNEL_SUITE_QUICK_FILES.join(' ')}`;
  throw new Error(`BENCH_KERNEL_SUITE=${which}: expected quick or all`);
}
