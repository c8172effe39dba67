import dgram from 'node:dgram';
import { describe, expect, it } from 'vitest';
import { GsoBatch, udpSendCounters, udpSink } from '../../src/quic/udp-batch.ts';

const peer = { host: '127.0.0.1', port: 9 };
const datagram = (size: number, fill: number) => new Uint8Array(size).fill(fill);

describe('GsoBatch', () => {
  function batch(segmentSize = 1350) {
    const sends: Array<{ bytes: number[]; to: string }> = [];
    const b = new GsoBatch((buf, to) => sends.push({ bytes: [...buf], to: `${to.host}:${to.port}` }), segmentSize);
    return { b, sends };
  }

  it('sends consecutive full-size datagrams and a shorter last one as one send', () => {
    const { b, sends } = batch(4);
    b.write(datagram(4, 1), 4, peer);
    b.write(datagram(4, 2), 4, peer);
    expect(sends).toHaveLength(0);
    b.write(datagram(3, 3), 3, peer); // shorter: the last segment of this send
    expect(sends).toEqual([{ bytes: [1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3], to: '127.0.0.1:9' }]);
  });

  it('ends a batch at another peer, at flush(), and never exceeds 64 segments', () => {
    const { b, sends } = batch(4);
    b.write(datagram(4, 1), 4, peer);
    b.write(datagram(4, 2), 4, { host: '127.0.0.1', port: 10 });
    b.flush();
    expect(sends.map((s) => s.to)).toEqual(['127.0.0.1:9', '127.0.0.1:10']);
    for (let i = 0; i < 130; i++) b.write(datagram(4, i), 4, peer);
    b.flush();
    expect(sends.slice(2).map((s) => s.bytes.length / 4)).toEqual([64, 64, 2]);
  });

  it('refuses a datagram larger than the segment size (the kernel would split it)', () => {
    const { b } = batch(4);
    expect(() => b.write(datagram(5, 0), 5, peer)).toThrow(RangeError);
  });
});

describe('udpSink over a real socket', () => {
  it('the kernel splits one GSO send into the datagrams written, bytes intact', async () => {
    const rx = dgram.createSocket('udp4');
    await new Promise<void>((r) => rx.bind(0, '127.0.0.1', () => r()));
    const tx = dgram.createSocket('udp4');
    await new Promise<void>((r) => tx.bind(0, '127.0.0.1', () => r()));
    const got: Buffer[] = [];
    const all = new Promise<void>((resolve) =>
      rx.on('message', (m) => {
        got.push(m);
        if (got.length === 11) resolve();
      }),
    );
    const sink = udpSink(tx, 1350, false);
    const before = { ...udpSendCounters };
    const to = { host: '127.0.0.1', port: rx.address().port };
    for (let i = 0; i < 10; i++) sink.write(datagram(1350, i), 1350, to);
    sink.write(datagram(700, 10), 700, to);
    sink.flush();
    await all;
    tx.close();
    rx.close();
    expect(got.map((m) => m.length)).toEqual([...Array(10).fill(1350), 700]);
    got.forEach((m, i) => expect(m.every((byte) => byte === i)).toBe(true));
    expect(udpSendCounters.datagrams - before.datagrams).toBe(11);
    // One system call with GSO (Linux >= 4.18); eleven without it.
    expect(udpSendCounters.sends - before.sends).toBe(1);
  });
});
