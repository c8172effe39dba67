/**
 * Shared by the kernel backend's suite. It runs where the kernel has tc netem: inside Debian's
 * kernel under qemu (npm run test:kernel), or directly on such a machine as root.
 *
 * Timing under software emulation is not a fidelity figure for real machines: a Node process there
 * runs 20-60 times slower than natively, so the suite asserts what netem and tbf decide (the delay
 * is applied, loss is within its binomial interval, the rate is not exceeded, what is dropped is
 * logged) with bounds that hold however slow the machine is, and prints the figures it saw.
 */
import { cpSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { probeNetem } from '../../netem/kernel/probe.ts';
import { isRoot, peerMissing } from '../support/peers.ts';

/** Why the suite cannot run here (undefined: it can); fails loudly under CI=true. */
export async function kernelSuiteMissing(): Promise<boolean> {
  if (!isRoot()) return peerMissing(false, 'root (network namespaces and qdiscs)');
  const netem = await probeNetem();
  return peerMissing(netem.ok, `a kernel with tc netem (${netem.detail}); npm run test:kernel runs this suite inside Debian's kernel under qemu`);
}

/** Copies a run directory (or file) to $VM_OUT/<name> when the harness gave one, for the host to read. */
export function exportArtifact(from: string, name: string): void {
  const out = process.env.VM_OUT;
  if (!out || !existsSync(from)) return;
  mkdirSync(out, { recursive: true });
  cpSync(from, path.join(out, name), { recursive: true });
}

/** Wilson score interval for `k` of `n` at the given z (3.29: 99.9%). */
export function wilson(k: number, n: number, z: number): [number, number] {
  const p = k / n;
  const denom = 1 + (z * z) / n;
  const centre = (p + (z * z) / (2 * n)) / denom;
  const half = (z / denom) * Math.sqrt((p * (1 - p)) / n + (z * z) / (4 * n * n));
  return [Math.max(0, centre - half), Math.min(1, centre + half)];
}

export function sh(argv: string[]): string {
  const r = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8' });
  return `${r.stdout ?? ''}${r.stderr ?? ''}`;
}

/** Everything in the (emulated machine's) host namespace a run must leave as it found it. */
export function hostNetworkState(): Record<string, string> {
  return {
    'ip -o link': sh(['ip', '-o', 'link', 'show']).replace(/\s+link\/\S+ [0-9a-f:]+ brd [0-9a-f:]+/g, ''),
    'ip addr': sh(['ip', '-o', 'addr']).replace(/valid_lft \S+ preferred_lft \S+/g, ''),
    'ip route': sh(['ip', 'route', 'show', 'table', 'all']),
    'ip rule': sh(['ip', 'rule']),
    'tc qdisc': sh(['tc', 'qdisc', 'show']),
    'tc filter': sh(['tc', 'filter', 'show', 'dev', 'lo']),
  };
}

/** Namespaces bench made ("bnch-..."), and which of them hold a qdisc, veth or mirror device. */
export function benchNamespaces(): string[] {
  return sh(['ip', 'netns', 'list'])
    .split('\n')
    .map((l) => l.trim().split(/\s+/)[0] ?? '')
    .filter((n) => n.startsWith('bnch-'));
}

export function readJson<T>(file: string): T {
  return JSON.parse(readFileSync(file, 'utf8')) as T;
}
