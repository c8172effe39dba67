/**
 * The reflector's socket drops, as the kernel counts them: a socket with a small receive buffer
 * that nobody reads overflows, and /proc/net/udp's drops column must say by how much (checked
 * against what was sent and what could then be read: sent = read + dropped, on loopback).
 */
import dgram from 'node:dgram';
import { describe, expect, it } from 'vitest';
import { udpSocketDrops } from '../../../netem/userspace/probe/proc-net-udp.ts';

const bind = (socket: dgram.Socket) => new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', () => resolve()));

describe('udpSocketDrops', () => {
  it('reads the kernel drop count of the socket bound to a port', async () => {
    const sink = dgram.createSocket({ type: 'udp4', recvBufferSize: 4096 });
    const source = dgram.createSocket('udp4');
    await bind(sink);
    await bind(source);
    const port = sink.address().port;
    expect(udpSocketDrops(port)).toBe(0);
    // Nobody reads while these arrive: the buffer holds a few, the kernel drops the rest.
    const payload = Buffer.alloc(1000);
    const sent = 200;
    let read = 0;
    sink.on('message', () => read++);
    await new Promise<void>((resolve) => {
      let done = 0;
      for (let i = 0; i < sent; i++) source.send(payload, port, '127.0.0.1', () => ++done === sent && resolve());
    });
    const dropped = udpSocketDrops(port)!;
    await new Promise((r) => setTimeout(r, 100));
    expect(dropped).toBeGreaterThan(0);
    expect(read + dropped).toBe(sent);
    source.close();
    sink.close();
  });

  it('parses the table: port in hex, drops in the last column; undefined for an unknown port', () => {
    const table = [
      '   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops',
      '  123: 0100007F:B2C8 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 4242 2 0000000000000000 17',
    ].join('\n');
    expect(udpSocketDrops(0xb2c8, table)).toBe(17);
    expect(udpSocketDrops(0xb2c9, table)).toBeUndefined();
  });
});
