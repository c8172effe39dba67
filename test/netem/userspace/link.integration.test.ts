/**
 * The userspace link between two real namespaces (root): ping and TCP through it, phases, drop log,
 * and what a killed link process or a killed parent leaves behind.
 */
import { execa } from 'execa';
import { readdirSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { LINK_PROCESS_MARKER } from '../../../netem/backend.ts';
import { removeOwnerRecord } from '../../../netem/cleanup.ts';
import { DIRECTION_DEFAULTS, type DirectionModel, type NetworkSpec } from '../../../netem/model.ts';
import { createShapedTopology, type ShapedTopology } from '../../../netem/topology.ts';
import { createUserspaceBackend, type UserspaceLinkBackend } from '../../../netem/userspace/index.ts';
import { requireRoot } from './root-env.ts';

const { skip } = requireRoot('userspace link integration');

function spec(up: Partial<DirectionModel>, down: Partial<DirectionModel> = up): Extract<NetworkSpec, { kind: 'shaped' }> {
  return {
    kind: 'shaped',
    backend: 'userspace',
    mtu: 1500,
    congestionControl: 'cubic',
    paths: [{ name: 'primary', up: { ...DIRECTION_DEFAULTS, ...up }, down: { ...DIRECTION_DEFAULTS, ...down } }],
    phases: [],
  };
}

let runCounter = 0;
const live: ShapedTopology[] = [];

async function up(s: ReturnType<typeof spec>): Promise<{ topo: ShapedTopology; link: UserspaceLinkBackend }> {
  const link = createUserspaceBackend();
  const topo = await createShapedTopology(s, { runId: `t-us-${process.pid}-${runCounter++}`, linkBackend: link });
  live.push(topo);
  return { topo, link };
}

afterEach(async () => {
  for (const t of live.splice(0)) await t.teardown();
});

function linkProcessesOf(runId: string): number[] {
  const pids: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const argv = readFileSync(`/proc/${d}/cmdline`, 'utf8').split('\0');
      if (argv.includes(`${LINK_PROCESS_MARKER}${runId}`)) pids.push(Number(d));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

async function waitFor(cond: () => boolean | Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await cond()) return true;
    await sleep(50);
  }
  return cond();
}

/** Connect time of `n` TCP connections from the client namespace to a listener in the server namespace (ms). */
async function tcpConnectTimes(topo: ShapedTopology, n: number): Promise<number[]> {
  const server = execa('ip', [...topo.commandPrefix('server').slice(1), process.execPath, '-e',
    `require('net').createServer((s) => s.end('hello')).listen(7000, '${topo.serverAddress}', () => console.log('listening'))`]);
  await new Promise<void>((resolve, reject) => {
    server.stdout!.once('data', () => resolve());
    server.once('exit', () => reject(new Error('server exited')));
  });
  try {
    const client = await execa('ip', [...topo.commandPrefix('client').slice(1), process.execPath, '-e', `
      const net = require('net');
      (async () => {
        const out = [];
        for (let i = 0; i < ${n}; i++) {
          const t0 = process.hrtime.bigint();
          await new Promise((res, rej) => {
            const s = net.connect(7000, '${topo.serverAddress}', () => { out.push(Number(process.hrtime.bigint() - t0) / 1e6); });
            let data = '';
            s.on('data', (d) => (data += d));
            s.on('end', () => (data === 'hello' ? res() : rej(new Error('bad data ' + data))));
            s.on('error', rej);
          });
        }
        console.log(JSON.stringify(out));
      })().catch((e) => { console.error(e); process.exit(1); });`]);
    return JSON.parse(client.stdout) as number[];
  } finally {
    server.kill('SIGKILL');
    await server.catch(() => undefined);
  }
}

describe.skipIf(skip)('userspace link between two namespaces', () => {
  it('carries ping with the configured delay each way', async () => {
    const { topo, link } = await up(spec({ delayMs: 25 }));
    const r = await execa('ip', ['netns', 'exec', topo.namespaces.client, 'ping', '-n', '-c', '10', '-i', '0.05', topo.serverAddress]);
    const rtts = [...r.stdout.matchAll(/time=([\d.]+) ms/g)].map((m) => Number(m[1]));
    expect(rtts).toHaveLength(10);
    expect(Math.min(...rtts)).toBeGreaterThanOrEqual(50);
    expect(Math.min(...rtts)).toBeLessThan(55);
    const c = await link.counters();
    expect(c.primary!.up.packetsIn).toBeGreaterThanOrEqual(10);
    expect(c.primary!.down.packetsOut).toBeGreaterThanOrEqual(10);
  });

  it('TCP connects in one RTT (~50 ms) and carries data', async () => {
    const { topo } = await up(spec({ delayMs: 25 }));
    const times = await tcpConnectTimes(topo, 5);
    // A handshake cannot beat the two 25 ms legs; the fastest of five shows the link adds little more
    // (the machine may be busy, so slower ones are not held against it).
    expect(Math.min(...times)).toBeGreaterThanOrEqual(50);
    expect(Math.min(...times)).toBeLessThan(60);
  });

  it('applies phases while running and logs drops', async () => {
    const { topo, link } = await up(spec({ delayMs: 5 }));
    await link.applyPhase({ atMs: 0, up: { blackhole: true } });
    const r = await execa('ip', ['netns', 'exec', topo.namespaces.client, 'ping', '-n', '-c', '3', '-i', '0.05', '-W', '1', topo.serverAddress], { reject: false });
    expect(r.stdout).toMatch(/3 packets transmitted, 0 received/);
    const drops = await link.drops();
    expect(drops.filter((d) => d.reason === 'blackhole' && d.dir === 'up' && d.proto === 'other').length).toBeGreaterThanOrEqual(3);
    await link.applyPhase({ atMs: 0, up: { blackhole: false } });
    const ok = await execa('ip', ['netns', 'exec', topo.namespaces.client, 'ping', '-n', '-c', '2', '-i', '0.05', topo.serverAddress]);
    expect(ok.stdout).toMatch(/2 received/);
  });

  it('kill -9 of the link process removes its devices at once; teardown leaves nothing', async () => {
    const { topo, link } = await up(spec({ delayMs: 5 }));
    const pid = link.pid!;
    const ns = topo.namespaces;
    await execa('ip', ['-n', ns.client, 'link', 'show', 'dev', topo.addressing[0]!.clientDevice]);
    process.kill(pid, 'SIGKILL');
    // Non-persistent TUN devices go away with the last fd.
    expect(
      await waitFor(async () => (await execa('ip', ['-n', ns.client, 'link', 'show', 'dev', topo.addressing[0]!.clientDevice], { reject: false })).exitCode !== 0, 5000),
    ).toBe(true);
    await expect(link.counters()).rejects.toThrow(/link process exited|not up/);
    await topo.teardown();
    const { stdout } = await execa('ip', ['netns', 'list']);
    expect(stdout).not.toContain(ns.client);
    expect(stdout).not.toContain(ns.server);
    expect(linkProcessesOf(topo.runId)).toEqual([]);
  });

  it('the link process dies when its parent is killed', async () => {
    const runId = `t-us-parent-${process.pid}`;
    const script = `
      import { createShapedTopology } from '${new URL('../../../netem/topology.ts', import.meta.url).pathname}';
      import { createUserspaceBackend } from '${new URL('../../../netem/userspace/index.ts', import.meta.url).pathname}';
      const s = ${JSON.stringify(spec({ delayMs: 5 }))};
      await createShapedTopology(s, { runId: '${runId}', linkBackend: createUserspaceBackend() });
      console.log('up');
      setInterval(() => {}, 1000);`;
    const parent = execa(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: process.cwd() });
    try {
      await new Promise<void>((resolve, reject) => {
        parent.stdout!.on('data', (d: Buffer) => d.toString().includes('up') && resolve());
        parent.once('exit', (code) => reject(new Error(`parent exited early (${code})`)));
      });
      const pids = linkProcessesOf(runId);
      expect(pids).toHaveLength(1);
      parent.kill('SIGKILL');
      expect(await waitFor(() => linkProcessesOf(runId).length === 0, 5000)).toBe(true);
    } finally {
      parent.kill('SIGKILL');
      await parent.catch(() => undefined);
      // The killed parent could not tear down its namespaces nor remove its owner record.
      for (const suffix of ['-c', '-s']) await execa('ip', ['netns', 'del', `bnch-${runId}${suffix}`], { reject: false });
      removeOwnerRecord(runId);
    }
  });
});
