import { describe, expect, it } from 'vitest';
import { pathDeviceName, planAddressing } from '../../netem/backend.ts';
import { namespaceNames, pathAddressingCommands, sanitizeRunId } from '../../netem/namespaces.ts';
import { runIdOfNamespace } from '../../netem/cleanup.ts';
import { RecordingRunner } from '../../netem/exec.ts';
import { createKernelBackend } from '../../netem/kernel/backend.ts';
import { unshapedPath } from './helpers.ts';

describe('names', () => {
  it('namespaces share one prefix and carry the run id', () => {
    expect(namespaceNames('2024-05-01T10:00:00Z')).toEqual({ client: 'bnch-2024-05-01T10_00_00Z-c', server: 'bnch-2024-05-01T10_00_00Z-s' });
    expect(runIdOfNamespace('bnch-2024-05-01T10_00_00Z-s')).toBe('2024-05-01T10_00_00Z');
    expect(runIdOfNamespace('other-x-c')).toBeUndefined();
  });
  it('run ids are limited to a safe alphabet', () => {
    expect(sanitizeRunId('a/b c')).toBe('a_b_c');
    expect(() => sanitizeRunId('')).toThrow(/no usable characters/);
  });
  it('device names fit IFNAMSIZ', () => {
    expect(pathDeviceName(0, 'primary')).toBe('p0-primary');
    expect(pathDeviceName(12, 'Handover-LTE-backup')).toBe('p12-handoverl');
    expect(pathDeviceName(1, '***')).toBe('p1-path');
    for (const n of ['a', 'x'.repeat(40)]) expect(pathDeviceName(15, n).length).toBeLessThanOrEqual(15);
  });
});

describe('addressing plan', () => {
  it('one server address, one client address per path, in 198.18.0.0/15', () => {
    const plan = planAddressing([unshapedPath('wifi'), unshapedPath('lte')]);
    expect(plan).toEqual([
      { path: 'wifi', index: 0, clientDevice: 'p0-wifi', serverDevice: 'p0-wifi', clientAddress: '198.18.0.10', serverAddress: '198.18.0.1', rebindAddress: '198.18.1.10', routeTable: 100 },
      { path: 'lte', index: 1, clientDevice: 'p1-lte', serverDevice: 'p1-lte', clientAddress: '198.18.0.11', serverAddress: '198.18.0.1', rebindAddress: '198.18.1.11', routeTable: 101 },
    ]);
  });
  it('refuses more paths than the plan numbers', () => {
    expect(() => planAddressing(Array.from({ length: 17 }, (_, i) => unshapedPath(`p${i}`)))).toThrow(RangeError);
  });

  it('commands: server address on lo, per-path routes with congctl, source rules, first path default', () => {
    const plan = planAddressing([unshapedPath('wifi'), unshapedPath('lte')]);
    const C = ['ip', '-n', 'C'];
    const S = ['ip', '-n', 'S'];
    expect(pathAddressingCommands({ clientNs: 'C', serverNs: 'S', mtu: 1400, congestionControl: 'cubic' }, plan)).toEqual([
      [...S, 'addr', 'add', '198.18.0.1/32', 'dev', 'lo'],
      [...C, 'link', 'set', 'dev', 'p0-wifi', 'mtu', '1400', 'up'],
      [...S, 'link', 'set', 'dev', 'p0-wifi', 'mtu', '1400', 'up'],
      [...C, 'addr', 'add', '198.18.0.10/32', 'dev', 'p0-wifi'],
      [...S, 'route', 'add', '198.18.0.10/32', 'dev', 'p0-wifi', 'src', '198.18.0.1', 'congctl', 'cubic'],
      [...S, 'route', 'add', '198.18.1.10/32', 'dev', 'p0-wifi', 'src', '198.18.0.1', 'congctl', 'cubic'],
      [...C, 'route', 'add', 'default', 'dev', 'p0-wifi', 'src', '198.18.0.10', 'congctl', 'cubic', 'table', '100'],
      [...C, 'rule', 'add', 'from', '198.18.0.10', 'lookup', '100', 'priority', '1000'],
      [...C, 'link', 'set', 'dev', 'p1-lte', 'mtu', '1400', 'up'],
      [...S, 'link', 'set', 'dev', 'p1-lte', 'mtu', '1400', 'up'],
      [...C, 'addr', 'add', '198.18.0.11/32', 'dev', 'p1-lte'],
      [...S, 'route', 'add', '198.18.0.11/32', 'dev', 'p1-lte', 'src', '198.18.0.1', 'congctl', 'cubic'],
      [...S, 'route', 'add', '198.18.1.11/32', 'dev', 'p1-lte', 'src', '198.18.0.1', 'congctl', 'cubic'],
      [...C, 'route', 'add', 'default', 'dev', 'p1-lte', 'src', '198.18.0.11', 'congctl', 'cubic', 'table', '101'],
      [...C, 'rule', 'add', 'from', '198.18.0.11', 'lookup', '101', 'priority', '1001'],
      [...C, 'route', 'add', 'default', 'dev', 'p0-wifi', 'src', '198.18.0.10', 'congctl', 'cubic'],
    ]);
  });
});

describe('kernel backend command sequence (recorded, not run)', () => {
  const path = {
    name: 'primary',
    up: { ...unshapedPath('x').up, delayMs: 15, rateBps: 10_000_000, queueLimitPackets: 25 },
    down: { ...unshapedPath('x').down, delayMs: 15 },
  };
  const ctx = (exec: RecordingRunner) => ({
    runId: 'r', clientNs: 'C', serverNs: 'S', paths: [path], mtu: 1500, addressing: planAddressing([path]), exec,
  });

  const shaping = [
    ['ethtool', '--version'],
    ['ip', 'link', 'add', 'name', 'p0-primary', 'netns', 'C', 'gso_max_segs', '1', 'type', 'veth', 'peer', 'name', 'p0-primary', 'netns', 'S', 'gso_max_segs', '1'],
    ['ip', 'netns', 'exec', 'C', 'ethtool', '-K', 'p0-primary', 'tso', 'off', 'gso', 'off', 'gro', 'off'],
    ['ip', 'netns', 'exec', 'S', 'ethtool', '-K', 'p0-primary', 'tso', 'off', 'gso', 'off', 'gro', 'off'],
    ['tc', '-n', 'C', 'qdisc', 'add', 'dev', 'p0-primary', 'root', 'handle', '1:', 'netem', 'limit', '100000', 'delay', '15ms'],
    ['tc', '-n', 'C', 'qdisc', 'add', 'dev', 'p0-primary', 'parent', '1:1', 'handle', '2:', 'tbf', 'rate', '10000000bit', 'burst', '3028', 'limit', '1514000'],
    ['tc', '-n', 'C', 'qdisc', 'add', 'dev', 'p0-primary', 'parent', '2:1', 'handle', '3:', 'pfifo', 'limit', '25'],
    ['tc', '-n', 'S', 'qdisc', 'add', 'dev', 'p0-primary', 'root', 'handle', '1:', 'netem', 'limit', '100000', 'delay', '15ms'],
  ];

  it('up: veth pair of one segment per packet, offloads off on both ends, qdiscs on each egress, the drop log\'s mirrors', async () => {
    const exec = new RecordingRunner();
    const backend = createKernelBackend();
    await backend.up(ctx(exec));
    expect(exec.commands).toEqual([
      ...shaping,
      ['ip', '-n', 'C', 'link', 'add', 'm0-primary', 'type', 'dummy'],
      ['ip', '-n', 'C', 'link', 'set', 'm0-primary', 'up'],
      ['tc', '-n', 'C', 'qdisc', 'add', 'dev', 'p0-primary', 'clsact'],
      ['tc', '-n', 'C', 'filter', 'add', 'dev', 'p0-primary', 'egress', 'matchall', 'action', 'mirred', 'egress', 'mirror', 'dev', 'm0-primary'],
      ['ip', '-n', 'S', 'link', 'add', 'm0-primary', 'type', 'dummy'],
      ['ip', '-n', 'S', 'link', 'set', 'm0-primary', 'up'],
      ['tc', '-n', 'S', 'qdisc', 'add', 'dev', 'p0-primary', 'clsact'],
      ['tc', '-n', 'S', 'filter', 'add', 'dev', 'p0-primary', 'egress', 'matchall', 'action', 'mirred', 'egress', 'mirror', 'dev', 'm0-primary'],
    ]);
    // Recorded, not run: there is no namespace C to open the drop log's sockets in. The link still
    // works, and says it keeps no drop log, and why.
    expect(backend.dropLogStatus()).toEqual({ kept: false, detail: expect.stringMatching(/^the drop log could not be set up: .*\/run\/netns\/C/) });
    expect(await backend.drops()).toEqual([]);
    expect(await backend.deliveries(0)).toBeUndefined();
  });

  it('without the drop log (the fidelity measurement): no mirrors', async () => {
    const exec = new RecordingRunner();
    const backend = createKernelBackend({ dropLog: false });
    await backend.up(ctx(exec));
    expect(exec.commands).toEqual(shaping);
    expect(backend.dropLogStatus()).toEqual({ kept: false, detail: 'not kept for this topology' });
  });

  it('phase: tc qdisc change on the named direction only, and it accumulates', async () => {
    const exec = new RecordingRunner();
    const b = createKernelBackend();
    await b.up(ctx(exec));
    const n = exec.commands.length;
    await b.applyPhase({ atMs: 10_000, path: 'primary', up: { blackhole: true } });
    await b.applyPhase({ atMs: 12_000, up: { blackhole: false, delayMs: 50 } });
    expect(exec.commands.slice(n)).toEqual([
      ['tc', '-n', 'C', 'qdisc', 'change', 'dev', 'p0-primary', 'root', 'handle', '1:', 'netem', 'limit', '100000', 'delay', '15ms', 'loss', 'random', '100%'],
      ['tc', '-n', 'C', 'qdisc', 'change', 'dev', 'p0-primary', 'root', 'handle', '1:', 'netem', 'limit', '100000', 'delay', '50ms'],
    ]);
  });

  it('without ethtool: a UserError saying what to install, before any device is made', async () => {
    const exec = new RecordingRunner((argv) => (argv[0] === 'ethtool' ? { exitCode: 127, stderr: 'not found' } : {}));
    await expect(createKernelBackend().up(ctx(exec))).rejects.toThrow(/apt-get install ethtool/);
    expect(exec.commands).toEqual([['ethtool', '--version']]);
  });

  it('phase naming an unknown path or asking for rebinding fails clearly', async () => {
    const b = createKernelBackend();
    await b.up(ctx(new RecordingRunner()));
    await expect(b.applyPhase({ atMs: 1, path: 'lte', up: { delayMs: 1 } })).rejects.toThrow(/path "lte"/);
    await expect(b.applyPhase({ atMs: 1, rebind: { port: true } })).rejects.toThrow(/userspace backend/);
  });
});
