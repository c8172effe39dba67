import { describe } from 'vitest';
import { execa } from 'execa';
import { isRoot } from '../../netem/topology.ts';
import { DIRECTION_DEFAULTS, type NetworkSpec, type PathModel } from '../../netem/model.ts';

/**
 * Tests that need root: run when root; under CI=true they run anyway (and fail without root);
 * otherwise they are skipped with the reason printed.
 */
export function describeRoot(name: string, fn: () => void): void {
  if (isRoot() || process.env.CI === 'true') {
    describe(name, fn);
  } else {
    console.warn(`skipping "${name}": needs root (network namespaces)`);
    describe.skip(`${name} (needs root)`, fn);
  }
}

export function unshapedPath(name: string): PathModel {
  return { name, up: { ...DIRECTION_DEFAULTS }, down: { ...DIRECTION_DEFAULTS } };
}

export function shapedSpec(pathNames: string[], over: Partial<Extract<NetworkSpec, { kind: 'shaped' }>> = {}): Extract<NetworkSpec, { kind: 'shaped' }> {
  return { kind: 'shaped', backend: 'auto', mtu: 1500, congestionControl: 'cubic', paths: pathNames.map(unshapedPath), phases: [], ...over };
}

export function uniqueRunId(tag: string): string {
  return `t${tag}${process.pid}x${Math.random().toString(36).slice(2, 7)}`;
}

export async function sh(argv: string[]): Promise<string> {
  const r = await execa(argv[0]!, argv.slice(1), { reject: false });
  return `${r.stdout}${r.stderr ? `\n${r.stderr}` : ''}`;
}

export async function hostNamespaces(): Promise<string[]> {
  return (await sh(['ip', 'netns', 'list'])).split('\n').map((l) => l.trim().split(/\s+/)[0] ?? '').filter(Boolean);
}

/** Everything `ps` shows whose command line mentions `needle`. */
export async function processesMentioning(needle: string): Promise<string[]> {
  const out = await sh(['ps', '-eo', 'pid=,args=']);
  return out.split('\n').filter((l) => l.includes(needle) && !l.includes('ps -eo'));
}

/** The host namespace's network state the product promises never to change. */
export const HOST_SYSCTLS = [
  'net.ipv4.tcp_congestion_control',
  'net.ipv4.tcp_allowed_congestion_control',
  'net.ipv4.ip_forward',
  'net.ipv6.conf.all.forwarding',
  'net.ipv4.conf.all.rp_filter',
  'net.ipv4.conf.default.rp_filter',
  'net.core.default_qdisc',
  'net.ipv4.tcp_ecn',
];

export async function hostSnapshot(): Promise<Record<string, string>> {
  const snap: Record<string, string> = {
    // Address lifetimes count down on DHCP/SLAAC hosts by themselves: not ours to compare.
    'ip addr': (await sh(['ip', 'addr'])).replace(/valid_lft \S+ preferred_lft \S+/g, 'lft'),
    'ip link': await sh(['ip', '-o', 'link', 'show']),
    'ip route': await sh(['ip', 'route', 'show', 'table', 'all']),
    'ip -6 route': await sh(['ip', '-6', 'route', 'show', 'table', 'all']),
    'ip rule': await sh(['ip', 'rule']),
    'tc qdisc show': await sh(['tc', 'qdisc', 'show']),
    'nft list ruleset': await sh(['nft', 'list', 'ruleset']),
  };
  for (const k of HOST_SYSCTLS) snap[k] = await sh(['sysctl', '-n', k]);
  return snap;
}
