import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { createShapedTopology, createTopology, createVethBackend, loopbackTopology, type ShapedTopology } from '../../netem/index.ts';
import { liveTeardownCount } from '../../netem/cleanup.ts';
import { nodeTsArgv } from '../../src/util/node-child.ts';
import { UserError } from '../../src/util/errors.ts';
import { describeRoot, hostNamespaces, hostSnapshot, processesMentioning, sh, shapedSpec, uniqueRunId } from './helpers.ts';

describe('network: none', () => {
  it('is plain loopback with no command prefix and no-op operations', async () => {
    const t = await createTopology({ kind: 'none' }, { runId: 'x' });
    expect(t.backend).toBe('none');
    expect(t.serverAddress).toBe('127.0.0.1');
    expect(t.commandPrefix('client')).toEqual([]);
    expect(t.commandPrefix('server')).toEqual([]);
    expect(await t.counters()).toEqual({});
    expect(await t.drops()).toEqual([]);
    await t.teardown();
    await t.teardown();
    expect(loopbackTopology().clientAddresses).toEqual({ loopback: '127.0.0.1' });
  });
});

/** Runs a tiny Node TCP echo in the server namespace and a client in the client namespace. */
async function tcpRoundTrip(topo: ShapedTopology, fromAddress?: string): Promise<{ reply: string; cc: string }> {
  const port = 20000 + Math.floor(Math.random() * 20000);
  const server = execa(topo.commandPrefix('server')[0]!, [
    ...topo.commandPrefix('server').slice(1),
    process.execPath, '-e',
    `require('net').createServer(s => s.on('data', d => s.end('echo:' + d + ' from ' + s.remoteAddress))).listen(${port}, '${topo.serverAddress}', () => console.log('listening'))`,
  ], { reject: false });
  await new Promise<void>((resolve) => server.stdout!.once('data', () => resolve()));
  const clientJs = `
    const s = require('net').connect({ port: ${port}, host: '${topo.serverAddress}'${fromAddress ? `, localAddress: '${fromAddress}'` : ''} }, () => s.write('hi'));
    let out = ''; s.on('data', d => out += d);
    s.on('end', () => { const cc = require('child_process').execSync('ss -tinH dst ${topo.serverAddress}').toString(); console.log(JSON.stringify({ reply: out, cc: (cc.match(/\\b(cubic|reno|bbr)\\b/) || [''])[0] })); });`;
  const client = await execa(topo.commandPrefix('client')[0]!, [...topo.commandPrefix('client').slice(1), process.execPath, '-e', clientJs], { timeout: 10_000 });
  server.kill();
  await server;
  return JSON.parse(client.stdout) as { reply: string; cc: string };
}

describeRoot('shaped topology on plain veth paths', () => {
  let topo: ShapedTopology;
  let before: Record<string, string>;
  const runId = uniqueRunId('topo');

  beforeAll(async () => {
    before = await hostSnapshot();
    topo = await createShapedTopology(shapedSpec(['wifi', 'lte'], { congestionControl: 'reno', mtu: 1400 }), { runId, linkBackend: createVethBackend() });
  });
  afterAll(async () => {
    await topo?.teardown();
  });

  it('names its namespaces under one prefix and exposes the plan', () => {
    expect(topo.namespaces).toEqual({ client: `bnch-${runId}-c`, server: `bnch-${runId}-s` });
    expect(topo.commandPrefix('client')).toEqual(['ip', 'netns', 'exec', `bnch-${runId}-c`]);
    expect(topo.clientAddresses).toEqual({ wifi: '198.18.0.10', lte: '198.18.0.11' });
    expect(topo.linkBackend).toBe('veth');
  });

  it('ping crosses the default path', async () => {
    const out = await sh([...topo.commandPrefix('client'), 'ping', '-c', '3', '-i', '0.2', '-W', '2', topo.serverAddress]);
    expect(out).toMatch(/3 packets transmitted, 3 received/);
  });

  it('loopback is up inside both namespaces and the MTU is set on the path devices', async () => {
    for (const ns of [topo.namespaces.client, topo.namespaces.server]) {
      expect(await sh(['ip', '-n', ns, 'link', 'show', 'dev', 'lo'])).toMatch(/UP/);
    }
    expect(await sh(['ip', '-n', topo.namespaces.client, 'link', 'show', 'dev', topo.addressing[1]!.clientDevice])).toMatch(/mtu 1400/);
  });

  it('TCP works on each path, leaves by that path`s address, and uses the scenario`s congestion control', async () => {
    for (const [path, addr] of Object.entries(topo.clientAddresses)) {
      const before = await topo.counters();
      const r = await tcpRoundTrip(topo, addr);
      expect(r.reply).toBe(`echo:hi from ${addr}`);
      expect(r.cc).toBe('reno');
      const after = await topo.counters();
      // The packets of this connection went over this path: at least SYN, data, FIN, ACKs (up).
      expect(after[path]!.up.packetsOut - before[path]!.up.packetsOut).toBeGreaterThanOrEqual(4);
    }
    // Closed connections leave nothing for the next one to start from (as with QUIC): Linux's
    // per-destination tcp_metrics cache stays empty on both sides.
    for (const ns of [topo.namespaces.client, topo.namespaces.server]) {
      expect(await sh(['ip', '-n', ns, 'tcp_metrics', 'show']), ns).toBe('');
    }
  });

  it('routeVia hands the default route to another path: a connection from no address leaves by it', async () => {
    await topo.routeVia('lte');
    try {
      // The earlier tests' connections may still close on wifi (a last ACK, a FIN retransmitted):
      // count from when that path has been quiet for a while.
      let before = await topo.counters();
      for (let i = 0; i < 20; i++) {
        await new Promise((r) => setTimeout(r, 300));
        const now = await topo.counters();
        const quiet = now.wifi!.up.packetsOut === before.wifi!.up.packetsOut;
        before = now;
        if (quiet) break;
      }
      const r = await tcpRoundTrip(topo);
      expect(r.reply).toBe(`echo:hi from ${topo.clientAddresses.lte}`);
      const after = await topo.counters();
      expect(after.lte!.up.packetsOut - before.lte!.up.packetsOut).toBeGreaterThanOrEqual(4);
      // None of this connection's packets (at least SYN, ACK, data, FIN) went by wifi. The device
      // counters count everything else too: one or two stray packets (seen in 4 of 8 runs on a loaded
      // machine even after the quiet wait; not identified) do not make a connection.
      expect(after.wifi!.up.packetsOut - before.wifi!.up.packetsOut).toBeLessThan(4);
    } finally {
      await topo.routeVia('wifi');
    }
    expect((await tcpRoundTrip(topo)).reply).toBe(`echo:hi from ${topo.clientAddresses.wifi}`);
    await expect(topo.routeVia('nope')).rejects.toThrow(/no path "nope".*wifi, lte/);
  });

  it('teardown removes namespaces and processes, is idempotent, and leaves the host as it was', async () => {
    const sleeper = execa(topo.commandPrefix('server')[0]!, [...topo.commandPrefix('server').slice(1), 'sleep', '120'], { reject: false });
    await new Promise((r) => setTimeout(r, 200));
    await topo.teardown();
    await topo.teardown();
    const ended = await sleeper;
    expect(ended.signal ?? ended.exitCode).toBeTruthy();
    const names = await hostNamespaces();
    expect(names).not.toContain(topo.namespaces.client);
    expect(names).not.toContain(topo.namespaces.server);
    expect(await processesMentioning(runId)).toEqual([]);
    expect(await sh(['ip', '-o', 'link', 'show'])).not.toMatch(/p[01]-(wifi|lte)/);
    expect(await hostSnapshot()).toEqual(before);
    expect(liveTeardownCount()).toBe(0);
  });
});

describeRoot('setup failures leave nothing behind', () => {
  it('an unavailable congestion control is a UserError naming the fix', async () => {
    const runId = uniqueRunId('cc');
    const spec = shapedSpec(['p'], { congestionControl: 'nope' as 'cubic' });
    const err = await createTopology(spec, { runId, linkBackend: createVethBackend() }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UserError);
    expect((err as Error).message).toMatch(/"nope" is not available.*network.congestionControl/);
    expect((await hostNamespaces()).filter((n) => n.includes(runId))).toEqual([]);
  });

  it('validation errors name the scenario and the fix', async () => {
    const opts = { runId: uniqueRunId('v'), scenario: 'scenarios/x.yaml', linkBackend: createVethBackend() };
    await expect(createTopology(shapedSpec([]), opts)).rejects.toThrow(/no paths/);
    await expect(createTopology(shapedSpec(['a', 'a']), opts)).rejects.toThrow(/"a" appears twice in scenarios\/x.yaml/);
    await expect(createTopology(shapedSpec(['a'], { mtu: 100 }), opts)).rejects.toThrow(/mtu 100 in scenarios\/x.yaml/);
    await expect(createTopology(shapedSpec(['a'], { phases: [{ atMs: 5, path: 'b' }] }), opts)).rejects.toThrow(/names path "b"/);
  });

  it('without root: one clear message, exit code 2 material, nothing created', async () => {
    const runId = uniqueRunId('noroot');
    const script = `
      import { createTopology } from '${new URL('../../netem/index.ts', import.meta.url).pathname}';
      try { await createTopology({ kind: 'shaped', backend: 'auto', mtu: 1500, congestionControl: 'cubic', paths: [{ name: 'p', up: {}, down: {} }], phases: [] }, { runId: '${runId}', scenario: 'scenarios/smoke.yaml' }); console.log('created'); }
      catch (e) { console.log(JSON.stringify({ name: e.name, code: e.code, message: e.message })); }`;
    const [node, ...args] = nodeTsArgv('-', []);
    // Run as nobody: setpriv drops uid/gid before Node starts.
    const r = await execa('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', node!, ...args.slice(0, -1), '--input-type=module', '-'], {
      input: script, reject: false, cwd: '/tmp',
    });
    const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as { name: string; code: string; message: string };
    expect(out.name).toBe('UserError');
    expect(out.code).toBe('NETEM_NEEDS_ROOT');
    expect(out.message).toBe(
      'shaping the network needs root (network namespaces and TUN devices); run with sudo, or set `network: none` in scenarios/smoke.yaml to run on plain loopback',
    );
    expect((await hostNamespaces()).filter((n) => n.includes(runId))).toEqual([]);
  });
});

describeRoot('teardown on every exit path of a process holding a topology', () => {
  async function hold(mode: string, link = 'veth'): Promise<{ child: ReturnType<typeof execa>; namespaces: { client: string; server: string }; pids: number[]; runId: string }> {
    const runId = uniqueRunId(mode.slice(0, 3));
    const [node, ...args] = nodeTsArgv(new URL('./fixtures/hold-topology.ts', import.meta.url).pathname, [runId, mode, link]);
    const child = execa(node!, args, { reject: false });
    const line = await new Promise<string>((resolve, reject) => {
      let buf = '';
      child.stdout!.on('data', (d: Buffer) => {
        buf += d.toString();
        const m = /READY (.*)\n/.exec(buf);
        if (m) resolve(m[1]!);
      });
      void child.then((r) => reject(new Error(`fixture ended before READY: ${r.stderr}`)));
    });
    return { child, runId, ...(JSON.parse(line) as { namespaces: { client: string; server: string }; pids: number[] }) };
  }

  async function expectNothingLeft(runId: string, pids: number[]): Promise<void> {
    expect((await hostNamespaces()).filter((n) => n.includes(runId))).toEqual([]);
    expect(await processesMentioning(runId)).toEqual([]);
    // Killed children of an exited process are reaped by init a moment later.
    const alive = () => pids.filter((pid) => { try { process.kill(pid, 0); return true; } catch { return false; } });
    for (let i = 0; i < 100 && alive().length > 0; i++) await new Promise((r) => setTimeout(r, 20));
    expect(alive()).toEqual([]);
  }

  it.each([
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const)('%s: exits %i after removing namespaces and the processes inside', async (signal, code) => {
    const h = await hold('wait');
    expect(await hostNamespaces()).toContain(h.namespaces.client);
    h.child.kill(signal);
    const r = await h.child;
    expect(r.exitCode).toBe(code);
    await expectNothingLeft(h.runId, h.pids);
  });

  it.each([
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const)('%s with the userspace link: its link process goes too', async (signal, code) => {
    const h = await hold('wait', 'userspace');
    expect((await processesMentioning(h.runId)).join('\n')).toMatch(/--bench-netem-run=/);
    h.child.kill(signal);
    expect((await h.child).exitCode).toBe(code);
    await expectNothingLeft(h.runId, h.pids);
  });

  it('process.exit without teardown: the synchronous exit path removes everything', async () => {
    const h = await hold('exit', 'userspace');
    expect((await h.child).exitCode).toBe(0);
    await expectNothingLeft(h.runId, h.pids);
  });

  it('uncaught exception: exits 1 after teardown', async () => {
    const h = await hold('throw');
    const r = await h.child;
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/crash on purpose/);
    await expectNothingLeft(h.runId, h.pids);
  });
});

describeRoot('backend selection', () => {
  it('auto uses the kernel exactly when the netem probe succeeds, and says why', async () => {
    const { probeNetem } = await import('../../netem/kernel/probe.ts');
    const netem = await probeNetem();
    const topo = await createShapedTopology(shapedSpec(['primary']), { runId: uniqueRunId('auto') });
    try {
      expect(topo.backend).toBe(netem.ok ? 'kernel' : 'userspace');
      expect(topo.backendReason).toBe(netem.ok ? 'auto: tc netem available' : `auto: userspace because ${netem.detail}`);
      expect(await sh([...topo.commandPrefix('client'), 'ping', '-c', '1', '-W', '5', topo.serverAddress])).toMatch(/1 received/);
    } finally {
      await topo.teardown();
    }
  });

  it('backend: kernel without netem is a UserError quoting the kernel, and leaves nothing', async () => {
    const { probeNetem } = await import('../../netem/kernel/probe.ts');
    const netem = await probeNetem();
    const runId = uniqueRunId('kern');
    const attempt = createTopology(shapedSpec(['primary'], { backend: 'kernel' }), { runId, scenario: 'scenarios/k.yaml' });
    if (netem.ok) {
      await (await attempt).teardown();
      return;
    }
    const err = await attempt.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UserError);
    expect((err as Error).message).toBe(
      `network.backend: kernel needs tc netem, which this kernel lacks (${netem.detail}); set network.backend: userspace (or auto) in scenarios/k.yaml, or load sch_netem (modprobe sch_netem)`,
    );
    expect((await hostNamespaces()).filter((n) => n.includes(runId))).toEqual([]);
  });

  it('backend: kernel cannot run rate traces or rebinding: refused before anything is made', async () => {
    const spec = shapedSpec(['primary'], { backend: 'kernel', phases: [{ atMs: 1000, rebind: { port: true } }] });
    await expect(createTopology(spec, { runId: uniqueRunId('rb') })).rejects.toThrow(/rebinds the client address\/port; set network.backend: userspace/);
  });
});
