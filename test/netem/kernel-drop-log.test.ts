/**
 * The kernel backend's drop log, as pure logic: packets entered vs arrived per direction, settled
 * against what the qdiscs still hold. The captures themselves run in the kernel suite (test/kernel/).
 */
import { describe, expect, it } from 'vitest';
import { DirectionMatcher, parsePacket, type SeenPacket } from '../../netem/kernel/drop-log.ts';
import { mirrorCommands, mirrorDeviceName } from '../../netem/kernel/commands.ts';

/** An IPv4 TCP packet's first 40 bytes: ports, sequence number and IP ID vary. */
function tcpPacket(opts: { id: number; seq: number; sport?: number; dport?: number; len?: number }): Uint8Array {
  const b = new Uint8Array(40);
  b[0] = 0x45;
  const len = opts.len ?? 1500;
  b[2] = len >> 8;
  b[3] = len & 0xff;
  b[4] = opts.id >> 8;
  b[5] = opts.id & 0xff;
  b[8] = 64;
  b[9] = 6;
  b.set([198, 18, 0, 1, 198, 18, 0, 10], 12);
  const sport = opts.sport ?? 8443;
  const dport = opts.dport ?? 40000;
  b[20] = sport >> 8;
  b[21] = sport & 0xff;
  b[22] = dport >> 8;
  b[23] = dport & 0xff;
  new DataView(b.buffer).setUint32(24, opts.seq);
  return b;
}

function seen(bytes: Uint8Array, t: number): SeenPacket {
  return parsePacket(bytes, bytes.length, t)!;
}

describe('parsePacket', () => {
  it('reads ports, sequence number and length; the key differs with any byte', () => {
    const p = seen(tcpPacket({ id: 7, seq: 123456789, len: 1400 }), 10);
    expect(p).toMatchObject({ t: 10, proto: 'tcp', srcPort: 8443, dstPort: 40000, len: 1400, tcpSeq: 123456789 });
    expect(seen(tcpPacket({ id: 8, seq: 123456789, len: 1400 }), 10).key).not.toBe(p.key);
    expect(seen(tcpPacket({ id: 7, seq: 123456789, len: 1400 }), 99).key).toBe(p.key);
  });

  it('ignores what is not IPv4', () => {
    const v6 = new Uint8Array(40);
    v6[0] = 0x60;
    expect(parsePacket(v6, 40, 0)).toBeUndefined();
    expect(parsePacket(new Uint8Array(10), 10, 0)).toBeUndefined();
  });
});

describe('DirectionMatcher', () => {
  it('a packet that entered and never arrived is dropped, once the qdiscs no longer hold it', () => {
    const m = new DirectionMatcher();
    const packets = Array.from({ length: 10 }, (_, i) => seen(tcpPacket({ id: i, seq: i * 1448 }), i));
    for (const p of packets) m.enter(p);
    for (const p of packets) if (p.tcpSeq !== 3 * 1448 && p.tcpSeq !== 9 * 1448) m.arrive({ ...p, t: p.t + 50 });
    // The qdiscs still hold one packet: the newest unmatched (seq 9) may be in flight.
    const dropped = m.settle(1, 1000);
    expect(dropped.map((p) => p.tcpSeq)).toEqual([3 * 1448]);
    expect(m.pending).toBe(1);
    // Nothing held any more: the last one was dropped too.
    expect(m.settle(0, 1000).map((p) => p.tcpSeq)).toEqual([9 * 1448]);
    expect(m.settle(0, 1000)).toEqual([]);
    expect({ entered: m.entered, arrived: m.arrived, pending: m.pending }).toEqual({ entered: 10, arrived: 8, pending: 0 });
  });

  it('identical packets (duplicate ACKs, netem duplicates) match one for one', () => {
    const m = new DirectionMatcher();
    const dupAck = tcpPacket({ id: 1, seq: 5, len: 52 });
    m.enter(seen(dupAck, 1));
    m.enter(seen(dupAck, 2));
    m.enter(seen(dupAck, 3));
    m.arrive(seen(dupAck, 51));
    m.arrive(seen(dupAck, 52));
    // Which of three identical packets was lost cannot be told: arrivals match the oldest first.
    expect(m.settle(0, 100).map((p) => p.t)).toEqual([3]);
    // netem's duplicate: two arrivals for one entry drop nothing.
    const n = new DirectionMatcher();
    n.enter(seen(dupAck, 1));
    n.arrive(seen(dupAck, 51));
    n.arrive(seen(dupAck, 51));
    expect(n.settle(0, 100)).toEqual([]);
  });

  it('an arrival read before its entry waits for it', () => {
    const m = new DirectionMatcher();
    const p = seen(tcpPacket({ id: 1, seq: 1 }), 1);
    m.arrive({ ...p, t: 2 });
    m.enter(p);
    expect(m.pending).toBe(0);
    expect(m.settle(0, 10)).toEqual([]);
  });

  it('reordered arrivals (jitter) still match', () => {
    const m = new DirectionMatcher();
    const ps = Array.from({ length: 5 }, (_, i) => seen(tcpPacket({ id: i, seq: i }), i));
    for (const p of ps) m.enter(p);
    for (const p of [...ps].reverse()) m.arrive(p);
    expect(m.settle(0, 100)).toEqual([]);
  });

  it('youngerThan counts the unmatched packets seen after a time', () => {
    const m = new DirectionMatcher();
    const ps = Array.from({ length: 6 }, (_, i) => seen(tcpPacket({ id: i, seq: i }), i * 10));
    for (const p of ps) m.enter(p);
    m.arrive(ps[5]!);
    expect(m.youngerThan(25)).toBe(2);
    expect(m.settle(m.youngerThan(25), 100).map((p) => p.t)).toEqual([0, 10, 20]);
  });

  it('keeps memory bounded: settled and matched entries are released', () => {
    const m = new DirectionMatcher();
    for (let i = 0; i < 20_000; i++) {
      const p = seen(tcpPacket({ id: i & 0xffff, seq: i }), i);
      m.enter(p);
      if (i % 100 !== 0) m.arrive(p);
      if (i % 1000 === 999) m.settle(0, i);
    }
    expect(m.pending).toBe(0);
    expect((m as unknown as { queue: unknown[] }).queue.length).toBeLessThan(10_000);
  });
});

describe('mirror commands', () => {
  it('mirror every packet of the device, before its qdiscs, to a dummy device in the same namespace', () => {
    const dev = mirrorDeviceName(0, 'primary');
    expect(dev).toBe('m0-primary');
    expect(mirrorDeviceName(3, 'a very long path name').length).toBeLessThanOrEqual(15);
    expect(mirrorCommands('bnch-x-c', 'p0-primary', dev)).toEqual([
      ['ip', '-n', 'bnch-x-c', 'link', 'add', 'm0-primary', 'type', 'dummy'],
      ['ip', '-n', 'bnch-x-c', 'link', 'set', 'm0-primary', 'up'],
      ['tc', '-n', 'bnch-x-c', 'qdisc', 'add', 'dev', 'p0-primary', 'clsact'],
      ['tc', '-n', 'bnch-x-c', 'filter', 'add', 'dev', 'p0-primary', 'egress', 'matchall', 'action', 'mirred', 'egress', 'mirror', 'dev', 'm0-primary'],
    ]);
  });
});
