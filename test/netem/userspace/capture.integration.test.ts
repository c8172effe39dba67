/**
 * The link's pcapng capture (bench run --capture), read back by tshark: every packet the link read
 * and wrote, on per-path interfaces, each drop marked on the packet it dropped, and nothing
 * recorded before the capture started or after it stopped.
 */
import { execa } from 'execa';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { DIRECTION_DEFAULTS, type DirectionModel, type NetworkSpec } from '../../../netem/model.ts';
import { createShapedTopology, type ShapedTopology } from '../../../netem/topology.ts';
import { DROP_COMMENT } from '../../../netem/userspace/capture.ts';
import { createUserspaceBackend } from '../../../netem/userspace/index.ts';
import { peerMissing, which } from '../../support/peers.ts';
import { requireRoot } from './root-env.ts';

const { skip: noRoot } = requireRoot('userspace link capture');
const skip = noRoot || peerMissing(!!which('tshark'), 'tshark (apt-get install tshark), to read the capture');
const dir = mkdtempSync(join(tmpdir(), 'bench-capture-'));
afterAll(() => process.env.KEEP_CAPTURE || rmSync(dir, { recursive: true, force: true }));

function spec(up: Partial<DirectionModel>): Extract<NetworkSpec, { kind: 'shaped' }> {
  return {
    kind: 'shaped',
    backend: 'userspace',
    mtu: 1500,
    congestionControl: 'cubic',
    paths: [{ name: 'primary', up: { ...DIRECTION_DEFAULTS, ...up }, down: { ...DIRECTION_DEFAULTS, delayMs: 5 } }],
    phases: [],
  };
}

const live: ShapedTopology[] = [];
afterEach(async () => {
  for (const t of live.splice(0)) await t.teardown();
});

const tshark = (...args: string[]) => execFileSync('tshark', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });

describe.skipIf(skip)('link capture', () => {
  it('records what the link received and delivered, with each drop marked, as tshark reads it', async () => {
    const topo = await createShapedTopology(spec({ delayMs: 5, loss: { model: 'random', probability: 0.2, correlation: 0 } }), {
      runId: `t-cap-${process.pid}`,
      linkBackend: createUserspaceBackend({ seed: 7 }),
    });
    live.push(topo);
    const ping = (count: number) =>
      execa('ip', ['netns', 'exec', topo.namespaces.client, 'ping', '-n', '-c', String(count), '-i', '0.01', '-W', '1', topo.serverAddress], { reject: false });
    await ping(5); // before the capture: not in the file
    const file = join(dir, 'cell.pcapng');
    const startedAt = await topo.startCapture!({ file, comment: 'a test of the capture', application: 'bench test' });
    await ping(100);
    const summary = await topo.stopCapture!();
    await ping(5); // after it: not in the file either

    const drops = (await topo.drops()).filter((d) => d.t >= summary.startedAt && d.t <= summary.stoppedAt);
    expect(summary.startedAt).toBe(startedAt);
    expect(summary.dropped).toBe(drops.length);
    expect(drops.length).toBeGreaterThan(5); // 20% of 100 echo requests
    expect(summary.received).toBe(100 + (100 - drops.length)); // requests, and the replies to those that got through
    expect(summary.delivered).toBe(summary.received - drops.length);

    const rows = tshark('-r', file, '-T', 'fields', '-E', 'separator=|', '-e', 'frame.interface_name', '-e', 'icmp.type', '-e', 'frame.comment', '-e', 'frame.packet_flags_direction')
      .trim()
      .split('\n')
      .map((l) => l.split('|'));
    const on = (iface: string) => rows.filter((r) => r[0] === iface);
    expect(on('primary received')).toHaveLength(summary.received);
    expect(on('primary delivered')).toHaveLength(summary.delivered);
    const dropped = rows.filter((r) => r[2]!.includes(DROP_COMMENT));
    expect(dropped).toHaveLength(drops.length);
    expect(dropped.every((r) => r[0] === 'primary received' && r[2] === `${DROP_COMMENT}: loss`)).toBe(true);
    // Only echo requests go up, where the loss is.
    expect(dropped.every((r) => r[1] === '8')).toBe(true);
    expect(on('primary received').every((r) => Number(r[3]) === 1)).toBe(true); // inbound
    expect(on('primary delivered').every((r) => Number(r[3]) === 2)).toBe(true); // outbound
    // The filter a user types finds the same packets.
    expect(tshark('-r', file, '-Y', `frame.comment contains "${DROP_COMMENT}"`).trim().split('\n')).toHaveLength(drops.length);
    const info = tshark('-r', file, '-T', 'fields', '-e', 'frame.time_epoch', '-c', '1').trim();
    expect(Math.abs(Number(info) * 1000 - Date.now())).toBeLessThan(60_000);
    expect(execFileSync('capinfos', [file], { encoding: 'utf8' })).toMatch(/Capture comment:\s+a test of the capture/);
  }, 60_000);

  it('refuses a second capture while one runs, and stops with the link', async () => {
    const topo = await createShapedTopology(spec({ delayMs: 1 }), { runId: `t-cap2-${process.pid}`, linkBackend: createUserspaceBackend() });
    live.push(topo);
    const file = join(dir, 'aborted.pcapng');
    await topo.startCapture!({ file });
    await expect(topo.startCapture!({ file: join(dir, 'other.pcapng') })).rejects.toThrow(/already running/);
    await execa('ip', ['netns', 'exec', topo.namespaces.client, 'ping', '-n', '-c', '3', '-i', '0.01', topo.serverAddress]);
    // The run ends without stopping the capture (an interrupt): the file still reads.
    await topo.teardown();
    const frames = tshark('-r', file, '-T', 'fields', '-e', 'frame.interface_name').trim().split('\n');
    expect(frames.filter((f) => f === 'primary received')).toHaveLength(6);
    expect(frames.filter((f) => f === 'primary delivered')).toHaveLength(6);
  }, 60_000);
});
