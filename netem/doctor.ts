/**
 * `bench doctor`: what this machine can do for shaped runs, each finding with how to fix it.
 * Probes run in throwaway namespaces; nothing on the host changes.
 */
import { constants, openSync, closeSync } from 'node:fs';
import { getRunner, type CommandRunner } from './exec.ts';
import { availableCongestionControls } from './namespaces.ts';
import { probeKernelFeatures } from './kernel/probe.ts';
import { isRoot, type KernelVerdict } from './topology.ts';

export interface DoctorCheck {
  name: string;
  ok: boolean;
  detail: string;
  /** How to fix it, when not ok. */
  fix?: string;
  /** 'required' for shaped runs; 'optional' findings (peers, kernel netem) never fail the doctor. */
  level: 'required' | 'optional';
}

export interface DoctorReport {
  checks: DoctorCheck[];
  /** Every required check passed: shaped runs can work here. */
  ok: boolean;
  /** What network.backend: auto would pick here ('none' when shaped runs cannot work). */
  autoBackend: 'kernel' | 'userspace' | 'none';
  /** Why auto picks it. */
  autoReason: string;
}

export interface DoctorOptions {
  exec?: CommandRunner;
  /**
   * `--measure`: the emulator fidelity measurement (delay, jitter, loss, rate, lateness), provided by
   * the userspace link; its findings are appended to the report.
   */
  measure?: () => Promise<DoctorCheck[]>;
  /** Whether auto may use the kernel link (its fidelity, as the runner judges it); absent: never. */
  kernelVerdict?: () => Promise<KernelVerdict>;
}

interface ToolSpec {
  name: string;
  /** Executable names to look for, in order. */
  bins: string[];
  versionArgs: string[];
  level: DoctorCheck['level'];
  fix: string;
  why: string;
}

export const TOOLS: ToolSpec[] = [
  { name: 'ip', bins: ['ip'], versionArgs: ['-V'], level: 'required', fix: 'apt-get install iproute2', why: 'namespaces, devices, routes' },
  { name: 'tc', bins: ['tc'], versionArgs: ['-V'], level: 'required', fix: 'apt-get install iproute2', why: 'qdiscs (kernel backend)' },
  { name: 'sysctl', bins: ['sysctl'], versionArgs: ['--version'], level: 'required', fix: 'apt-get install procps', why: 'congestion control per namespace' },
  { name: 'nft', bins: ['nft'], versionArgs: ['--version'], level: 'optional', fix: 'apt-get install nftables', why: 'packet filtering inside namespaces' },
  { name: 'ethtool', bins: ['ethtool'], versionArgs: ['--version'], level: 'optional', fix: 'apt-get install ethtool', why: 'offloads off on veth (kernel backend)' },
  { name: 'modprobe', bins: ['modprobe'], versionArgs: ['--version'], level: 'optional', fix: 'apt-get install kmod', why: 'loading tcp_bbr / sch_netem' },
  { name: 'caddy', bins: ['caddy'], versionArgs: ['version'], level: 'optional', fix: 'install caddy (https://caddyserver.com/docs/install)', why: 'reference H1/H2/H3 server' },
  { name: 'chromium', bins: ['chromium', 'chromium-browser', 'google-chrome', 'google-chrome-stable'], versionArgs: ['--version'], level: 'optional', fix: 'apt-get install chromium', why: 'page-load workload' },
  { name: 'h2load', bins: ['h2load'], versionArgs: ['--version'], level: 'optional', fix: 'apt-get install nghttp2-client', why: 'reference load generator' },
  { name: 'wrk', bins: ['wrk'], versionArgs: ['--version'], level: 'optional', fix: 'apt-get install wrk', why: 'reference HTTP/1.1 load generator' },
  { name: 'tshark', bins: ['tshark'], versionArgs: ['--version'], level: 'optional', fix: 'apt-get install tshark', why: 'packet captures' },
];

async function which(exec: CommandRunner, bin: string): Promise<string | undefined> {
  // `command -v` is a shell builtin: ask sh, so PATH lookup matches what execa would run.
  const r = await exec.run(['sh', '-c', 'command -v "$1"', 'sh', bin], { check: false });
  return r.exitCode === 0 && r.stdout.trim() ? r.stdout.trim() : undefined;
}

export async function checkTool(exec: CommandRunner, t: ToolSpec): Promise<DoctorCheck> {
  for (const bin of t.bins) {
    const path = await which(exec, bin);
    if (!path) continue;
    const v = await exec.run([path, ...t.versionArgs], { check: false, timeoutMs: 10_000 });
    const version = `${v.stdout}\n${v.stderr}`.split('\n').map((l) => l.trim()).find((l) => l.length > 0) ?? 'version unknown';
    return { name: t.name, ok: true, detail: `${path}: ${version}`, level: t.level };
  }
  return { name: t.name, ok: false, detail: `not found on PATH (${t.why})`, fix: t.fix, level: t.level };
}

export function checkTun(): DoctorCheck {
  try {
    const fd = openSync('/dev/net/tun', constants.O_RDWR);
    closeSync(fd);
    return { name: 'tun', ok: true, detail: '/dev/net/tun opens read-write', level: 'required' };
  } catch (e) {
    return {
      name: 'tun',
      ok: false,
      detail: `/dev/net/tun: ${(e as Error).message}`,
      fix: 'load the tun module (modprobe tun), or in a container pass --device /dev/net/tun and CAP_NET_ADMIN',
      level: 'required',
    };
  }
}

async function checkCongestionControls(exec: CommandRunner): Promise<DoctorCheck[]> {
  let available: string[];
  try {
    available = await availableCongestionControls(exec);
  } catch (e) {
    return [{ name: 'congestion control', ok: false, detail: (e as Error).message, fix: 'apt-get install procps', level: 'required' }];
  }
  const allowed = await exec.run(['sysctl', '-n', 'net.ipv4.tcp_allowed_congestion_control'], { check: false });
  const perNamespace: DoctorCheck = {
    name: 'congestion control per run',
    ok: true,
    detail: `set on every path route (congctl), so any available algorithm works; namespace-wide default limited to the host's allowed list: ${allowed.stdout.trim() || 'unknown'}`,
    level: 'optional',
  };
  return [perNamespace, ...(['cubic', 'reno', 'bbr'] as const).map((cc) => ({
    name: `congestion control ${cc}`,
    ok: available.includes(cc),
    detail: available.includes(cc) ? `available (kernel offers: ${available.join(' ')})` : `not loaded (kernel offers: ${available.join(' ')}); loaded on demand with modprobe tcp_${cc}`,
    ...(available.includes(cc) ? {} : { fix: `modprobe tcp_${cc}` }),
    level: cc === 'reno' ? ('required' as const) : ('optional' as const),
  }))];
}

export async function runDoctor(opts: DoctorOptions = {}): Promise<DoctorReport> {
  const exec = opts.exec ?? getRunner();
  const checks: DoctorCheck[] = [];
  const root = isRoot();
  checks.push(
    root
      ? { name: 'root', ok: true, detail: 'running as root', level: 'required' }
      : {
          name: 'root',
          ok: false,
          detail: `running as uid ${process.getuid?.() ?? '?'}`,
          fix: 'run with sudo for shaped networks, or use `network: none` (plain loopback)',
          level: 'required',
        },
  );
  for (const t of TOOLS.slice(0, 3)) checks.push(await checkTool(exec, t));

  const needRoot = (name: string): DoctorCheck => ({ name, ok: false, detail: 'not probed: needs root', fix: 'run bench doctor with sudo', level: 'required' });
  if (root) {
    const k = await probeKernelFeatures(exec);
    checks.push({ name: 'network namespaces', ...k.namespaces, level: 'required', ...(k.namespaces.ok ? {} : { fix: 'a kernel with CONFIG_NET_NS, and CAP_SYS_ADMIN' }) });
    checks.push({ name: 'veth', ...k.veth, level: 'required', ...(k.veth.ok ? {} : { fix: 'modprobe veth (CONFIG_VETH)' }) });
    checks.push({
      name: 'tc netem',
      ...k.netem,
      // The userspace backend covers a kernel without netem: optional.
      level: 'optional',
      ...(k.netem.ok ? {} : { fix: 'modprobe sch_netem (package linux-modules-extra-* on some distributions); until then the userspace backend is used' }),
    });
    checks.push({ name: 'tc tbf', ...k.tbf, level: 'optional', ...(k.tbf.ok ? {} : { fix: 'modprobe sch_tbf' }) });
    checks.push({ name: 'tc htb', ...k.htb, level: 'optional', ...(k.htb.ok ? {} : { fix: 'modprobe sch_htb' }) });
  } else {
    checks.push(needRoot('network namespaces'), needRoot('veth'), { ...needRoot('tc netem'), level: 'optional' });
  }
  checks.push(checkTun());
  checks.push(...(await checkCongestionControls(exec)));
  for (const t of TOOLS.slice(3)) checks.push(await checkTool(exec, t));
  if (opts.measure) checks.push(...(await opts.measure()));

  const ok = checks.every((c) => c.ok || c.level === 'optional');
  const find = (n: string) => checks.find((c) => c.name === n)?.ok === true;
  // Same rule as createTopology's auto selection: kernel when tc netem works and the kernel link's
  // fidelity measurement on this machine passed.
  if (!ok) return { checks, ok, autoBackend: 'none', autoReason: 'a required check failed' };
  if (!find('tc netem')) return { checks, ok, autoBackend: 'userspace', autoReason: 'tc netem is unavailable' };
  const verdict = opts.kernelVerdict ? await opts.kernelVerdict() : { trusted: false, reason: "the kernel link's fidelity was not judged" };
  return verdict.trusted
    ? { checks, ok, autoBackend: 'kernel', autoReason: verdict.reason }
    : { checks, ok, autoBackend: 'userspace', autoReason: verdict.reason };
}

/** Human-readable report: one line per check, fixes indented under failures. */
export function formatDoctorReport(r: DoctorReport): string {
  const lines = r.checks.map((c) => {
    const mark = c.ok ? 'ok  ' : c.level === 'required' ? 'FAIL' : 'warn';
    const fix = !c.ok && c.fix ? `\n        fix: ${c.fix}` : '';
    return `  ${mark}  ${c.name.padEnd(26)} ${c.detail}${fix}`;
  });
  const summary = r.ok
    ? `shaped networks: yes (backend auto -> ${r.autoBackend}: ${r.autoReason})`
    : 'shaped networks: no (fix the FAIL lines above; `network: none` runs on loopback meanwhile)';
  return [...lines, '', summary].join('\n');
}
