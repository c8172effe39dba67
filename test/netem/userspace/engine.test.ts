import { describe, expect, it } from 'vitest';
import { DIRECTION_DEFAULTS, type DirectionModel, type PathModel } from '../../../netem/model.ts';
import { LinkEngine, type Dir } from '../../../netem/userspace/model/engine.ts';
import { mapPort, unmapPort } from '../../../netem/userspace/model/rebind.ts';

interface Release {
  pathIndex: number;
  dir: Dir;
  packet: Uint8Array;
  dueMs: number;
}

/** Collects releases as objects. */
function collect(out: Release[]) {
  return (pathIndex: number, dir: Dir, packet: Uint8Array, dueMs: number) => out.push({ pathIndex, dir, packet, dueMs });
}
import { summarize } from '../../../netem/userspace/model/packet.ts';
import { buildPacket, checksumsValid, mean, stdev } from './helpers.ts';

const CLIENT = '198.18.0.10';
const SERVER = '198.18.0.1';

function path(up: Partial<DirectionModel>, down: Partial<DirectionModel> = up, name = 'primary'): PathModel {
  return { name, up: { ...DIRECTION_DEFAULTS, ...up }, down: { ...DIRECTION_DEFAULTS, ...down } };
}

function engine(p: PathModel[], extra: Partial<ConstructorParameters<typeof LinkEngine>[0]> = {}): LinkEngine {
  return new LinkEngine({
    seed: 'test',
    paths: p,
    startMs: 0,
    addresses: p.map((_, i) => ({ clientAddress: `198.18.0.${10 + i}`, rebindAddress: `198.18.1.${10 + i}` })),
    ...extra,
  });
}

function udp(seq: number, dir: 'up' | 'down' = 'up', size = 100): Uint8Array {
  const payload = new Uint8Array(Math.max(4, size - 28));
  new DataView(payload.buffer).setUint32(0, seq);
  return dir === 'up'
    ? buildPacket({ proto: 'udp', src: CLIENT, dst: SERVER, srcPort: 40000, dstPort: 443, payload })
    : buildPacket({ proto: 'udp', src: SERVER, dst: CLIENT, srcPort: 443, dstPort: 40000, payload });
}

function seqOf(p: Uint8Array): number {
  return new DataView(p.buffer, p.byteOffset).getUint32(28);
}

/** Feeds n packets every intervalMs with a fake clock; returns releases with their sequence numbers. */
function run(e: LinkEngine, n: number, intervalMs: number, dir: 'up' | 'down' = 'up', size = 100) {
  const out: Array<Release & { seq: number; sentMs: number }> = [];
  const sent = new Map<number, number>();
  const emit = (pathIndex: number, d: Dir, packet: Uint8Array, dueMs: number) =>
    out.push({ pathIndex, dir: d, packet, dueMs, seq: seqOf(packet), sentMs: sent.get(seqOf(packet))! });
  for (let i = 0; i < n; i++) {
    const t = i * intervalMs;
    e.release(t, emit);
    sent.set(i, t);
    e.ingress(0, dir, udp(i, dir, size), t);
  }
  e.release(Infinity, emit);
  return out;
}

describe('link engine with a fake clock', () => {
  it('delays every packet by the configured delay, in order, and counts them', () => {
    const e = engine([path({ delayMs: 25 })]);
    const out = run(e, 100, 1);
    expect(out.map((r) => r.dueMs - r.sentMs)).toEqual(Array(100).fill(25));
    expect(out.map((r) => r.seq)).toEqual([...Array(100).keys()]);
    expect(e.counters().primary!.up).toMatchObject({ packetsIn: 100, packetsOut: 100, dropped: 0 });
    expect(e.counters().primary!.down.packetsIn).toBe(0);
  });

  it('jitter: netem order reorders, fifo order keeps order and never leaves early', () => {
    const model = { delayMs: 25, jitterMs: 10 };
    const netem = run(engine([path(model)]), 20_000, 0.2);
    const delays = netem.map((r) => r.dueMs - r.sentMs);
    expect(Math.abs(mean(delays) - 25)).toBeLessThan(0.2);
    expect(Math.abs(stdev(delays) / 10 - 1)).toBeLessThan(0.03);
    expect(netem.some((r, i) => i > 0 && r.seq < netem[i - 1]!.seq)).toBe(true);

    // Same seed, same draws: in fifo order each packet leaves no earlier than its own draw.
    const ownDelay = new Map(netem.map((r) => [r.seq, r.dueMs - r.sentMs]));
    const fifo = run(engine([path(model)], { jitterOrder: 'fifo' }), 20_000, 0.2);
    expect(fifo.map((r) => r.seq)).toEqual([...Array(20_000).keys()]);
    expect(fifo.every((r) => r.dueMs - r.sentMs >= ownDelay.get(r.seq)! - 1e-9)).toBe(true);
    expect(mean(fifo.map((r) => r.dueMs - r.sentMs))).toBeGreaterThan(mean(delays) + 1);
  });

  it('random loss drops at the configured rate and logs each drop', () => {
    const e = engine([path({ loss: { model: 'random', probability: 0.05, correlation: 0 } })]);
    const n = 40_000;
    const out = run(e, n, 0.1);
    const dropped = n - out.length;
    const sd = Math.sqrt(n * 0.05 * 0.95);
    expect(Math.abs(dropped - n * 0.05)).toBeLessThan(4 * sd);
    const drops = e.drops();
    expect(drops.length).toBe(dropped);
    expect(drops[0]).toMatchObject({ path: 'primary', dir: 'up', proto: 'udp', srcPort: 40000, dstPort: 443, len: 100, reason: 'loss' });
    expect(e.counters().primary!.up.dropped).toBe(dropped);
  });

  it('drop log carries the TCP sequence number; blackhole drops everything', () => {
    const e = engine([path({ blackhole: true })]);
    e.ingress(0, 'up', buildPacket({ proto: 'tcp', src: CLIENT, dst: SERVER, srcPort: 1, dstPort: 2, tcpSeq: 777 }), 5);
    expect(e.inFlight).toBe(0);
    expect(e.drops()).toEqual([{ t: 5, path: 'primary', dir: 'up', proto: 'tcp', srcPort: 1, dstPort: 2, tcpSeq: 777, len: 45, reason: 'blackhole' }]);
  });

  it('duplicate, reorder and corrupt happen at their rates', () => {
    const e = engine([path({ delayMs: 10.5, duplicate: 0.1, reorder: 0.2, corrupt: 0.05 })]);
    const n = 20_000;
    const out = run(e, n, 1);
    const c = e.counters().primary!.up;
    const near = (x: number, p: number) => Math.abs(x - n * p) < 4 * Math.sqrt(n * p * (1 - p));
    expect(near(c.duplicated, 0.1)).toBe(true);
    expect(out.length).toBe(n + c.duplicated);
    expect(near(c.reordered / 1.1, 0.2)).toBe(true);
    // Packets are sent at whole ms and delayed 10.5 ms: only the reordered ones leave at a whole ms.
    expect(out.filter((r) => Number.isInteger(r.dueMs)).length).toBe(c.reordered);
    const corrupted = out.filter((r) => !checksumsValid(r.packet) || seqOf(r.packet) >= n).length;
    expect(near(c.corrupted / 1.1, 0.05)).toBe(true);
    // A flipped bit in the payload or headers breaks a checksum (or the sequence number we carry).
    expect(corrupted).toBeGreaterThan(0.9 * c.corrupted);
    expect(corrupted).toBeLessThanOrEqual(c.corrupted);
  });

  it('rate with a drop-tail queue: serialization, queue delay, queue drops in the log', () => {
    const e = engine([path({ rateBps: 12_000_000, queueLimitPackets: 10 })]);
    // 20 back-to-back 1500-byte packets at t=0: 10 fit, 10 are dropped.
    for (let i = 0; i < 20; i++) e.ingress(0, 'up', udp(i, 'up', 1500), 0);
    const out: Release[] = [];
    e.release(Infinity, collect(out));
    expect(out.map((r) => r.dueMs)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    const c = e.counters().primary!.up;
    expect(c.dropped).toBe(10);
    expect(c.queueDelayMeanMs).toBeCloseTo(4.5, 9);
    expect(c.queueDelayMaxMs).toBe(9);
    expect(e.drops().every((d) => d.reason === 'queue')).toBe(true);
  });

  it('phases change the model at once, per path, and rebinding rewrites then restores addresses', () => {
    const e = engine([path({ delayMs: 10 }, { delayMs: 10 }, 'wifi'), path({ delayMs: 30 }, { delayMs: 30 }, 'lte')]);
    e.applyPhase({ atMs: 0, path: 'wifi', up: { blackhole: true } }, 0);
    e.ingress(0, 'up', udp(1), 0);
    e.ingress(1, 'up', udp(2), 0);
    expect(e.inFlight).toBe(1);
    expect(() => e.applyPhase({ atMs: 0, path: 'nope' }, 0)).toThrow(/nope/);
    e.applyPhase({ atMs: 0, up: { blackhole: false, delayMs: 5 } }, 0);
    e.applyPhase({ atMs: 0, path: 'wifi', rebind: { port: true, address: true } }, 0);
    e.ingress(0, 'up', udp(3), 0);
    const out: Release[] = [];
    e.release(Infinity, collect(out));
    expect(out.map((r) => [r.pathIndex, r.dueMs])).toEqual([
      [0, 5],
      [1, 30],
    ]);
    const s = summarize(out[0]!.packet);
    expect(Array.from(out[0]!.packet.subarray(12, 16))).toEqual([198, 18, 1, 10]);
    expect(s.srcPort).not.toBe(40000);
    expect(checksumsValid(out[0]!.packet)).toBe(true);
    const reply = buildPacket({ proto: 'udp', src: SERVER, dst: '198.18.1.10', srcPort: 443, dstPort: s.srcPort!, payload: new Uint8Array([0, 0, 0, 9]) });
    e.ingress(0, 'down', reply, 1);
    const back: Release[] = [];
    e.release(Infinity, collect(back));
    expect(back).toHaveLength(1);
    expect(Array.from(back[0]!.packet.subarray(16, 20))).toEqual([198, 18, 0, 10]);
    expect(summarize(back[0]!.packet).dstPort).toBe(40000);
  });

  it('the rebinding NAT sits at the client end: server packets already on their way when it rebinds miss the client', () => {
    const e = engine([path({ delayMs: 10 }, { delayMs: 10 }, 'wifi')]);
    const toClient = () => buildPacket({ proto: 'udp', src: SERVER, dst: CLIENT, srcPort: 443, dstPort: 40000, payload: new Uint8Array(300) });
    e.ingress(0, 'down', toClient(), 0);
    e.applyPhase({ atMs: 5, path: 'wifi', rebind: { port: true } }, 5);
    e.ingress(0, 'down', toClient(), 6);
    const out: Release[] = [];
    e.release(Infinity, collect(out));
    // Both were sent to the port the server knew; once the mapping moved on, that port is not the client's.
    expect(out.map((r) => summarize(r.packet).dstPort)).toEqual([unmapPort(40000, 1), unmapPort(40000, 1)]);
    expect(out.every((r) => summarize(r.packet).dstPort !== 40000)).toBe(true);
  });

  it('behind a rebound port, drops are logged with the port the client knows (the one its connections record)', () => {
    const e = engine([path({ delayMs: 10 }, { delayMs: 10 }, 'wifi')]);
    e.applyPhase({ atMs: 0, path: 'wifi', rebind: { port: true } }, 0);
    e.applyPhase({ atMs: 0, path: 'wifi', up: { blackhole: true }, down: { blackhole: true } }, 0);
    // Up: rewritten to the NAT's port as it enters; down: addressed by the server to the NAT's port.
    e.ingress(0, 'up', udp(1, 'up'), 1);
    const natPort = mapPort(40000, 1);
    expect(natPort).not.toBe(40000);
    e.ingress(0, 'down', buildPacket({ proto: 'udp', src: SERVER, dst: CLIENT, srcPort: 443, dstPort: natPort, payload: new Uint8Array(8) }), 2);
    e.release(Infinity, () => {});
    const drops = e.drops();
    expect(drops.map((d) => [d.dir, d.srcPort, d.dstPort])).toEqual([
      ['up', 40000, 443],
      ['down', 443, 40000],
    ]);
  });

  it('a path that goes dark loses what it carries: queued and delayed packets are dropped, not delivered', () => {
    const e = engine([path({ delayMs: 20, rateBps: 800_000 }, { delayMs: 20 }, 'wifi'), path({ delayMs: 20 }, { delayMs: 20 }, 'lte')]);
    // 10 packets of 1000 bytes at 0.8 Mbit/s: 10 ms each in the bottleneck, then 20 ms of delay.
    for (let i = 0; i < 10; i++) e.ingress(0, 'up', udp(i, 'up', 1000), 0);
    e.ingress(1, 'up', udp(100), 0);
    const early: Release[] = [];
    e.release(55, collect(early));
    expect(early.filter((r) => r.pathIndex === 0)).toHaveLength(3);
    e.applyPhase({ atMs: 55, path: 'wifi', up: { blackhole: true } }, 55);
    const late: Release[] = [];
    e.release(Infinity, collect(late));
    expect(late.filter((r) => r.pathIndex === 0)).toEqual([]);
    expect(e.counters().wifi!.up).toMatchObject({ packetsIn: 10, packetsOut: 3, dropped: 7 });
    // Bytes: every packet received counts, only the three delivered go out (IP packet lengths, as built).
    const ipBytes = udp(0, 'up', 1000).length;
    expect(e.counters().wifi!.up).toMatchObject({ bytesIn: 10 * ipBytes, bytesOut: 3 * ipBytes });
    expect(e.drops().filter((d) => d.reason === 'blackhole').map((d) => d.path)).toEqual(Array(7).fill('wifi'));
    // The other path is not affected.
    expect([...early, ...late].filter((r) => r.pathIndex === 1)).toHaveLength(1);
  });

  it('is reproducible: the same seed makes the same decisions, another seed others', () => {
    const m = path({ delayMs: 20, jitterMs: 5, loss: { model: 'random', probability: 0.1, correlation: 0.3 } });
    const a = run(engine([m]), 2000, 1).map((r) => [r.seq, r.dueMs]);
    const b = run(engine([m]), 2000, 1).map((r) => [r.seq, r.dueMs]);
    const c = run(engine([m], { seed: 'other' }), 2000, 1).map((r) => [r.seq, r.dueMs]);
    expect(b).toEqual(a);
    expect(c).not.toEqual(a);
  });

  it('follows a rate trace', () => {
    const e = engine([path({ rateTrace: 't' })], { traces: new Map([['t', [2, 4]]]) });
    for (let i = 0; i < 4; i++) e.ingress(0, 'up', udp(i, 'up', 1500), 0);
    const due: number[] = [];
    e.release(Infinity, (_p, _d, _packet, dueMs) => due.push(dueMs));
    expect(due).toEqual([2, 4, 6, 8]);
  });

  it('plays a rate trace from its first line again after restartTraces (each cell meets the same stretch)', () => {
    // Opportunities at 10, 20 and 1000 ms (period 1000): from 0 the first packet leaves at 10 ms.
    const e = engine([path({ rateTrace: 't' })], { traces: new Map([['t', [10, 20, 1000]]]) });
    // Restarted at 500 ms: the trace's 10 ms line is at 510 ms, not 1000 ms (the next opportunity of the old start).
    e.restartTraces(500);
    e.ingress(0, 'up', udp(0, 'up', 1500), 505);
    const due: number[] = [];
    e.release(Infinity, (_p, _d, _packet, dueMs) => due.push(dueMs));
    expect(due).toEqual([510]);
  });
});
