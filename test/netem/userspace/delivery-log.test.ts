import { describe, expect, it } from 'vitest';
import { DeliveryLog } from '../../../netem/userspace/model/delivery-log.ts';

/** An IPv4 packet of `len` bytes, protocol `proto`, to destination port `port`. */
function packet(len: number, port: number, proto = 17): Uint8Array {
  const p = new Uint8Array(len);
  p[0] = 0x45; // IPv4, 20-byte header
  p[9] = proto;
  p[22] = port >> 8;
  p[23] = port & 0xff;
  return p;
}

describe('DeliveryLog', () => {
  it('keeps data packets by destination (client) port and answers from a time on', () => {
    const log = new DeliveryLog(1000, 5);
    log.record(packet(1400, 40000), 10);
    log.record(packet(60, 40000), 11); // an ACK-sized packet carries no stream data
    log.record(packet(1400, 40001, 6), 12);
    log.record(packet(1400, 40000), 20);
    log.record(packet(1400, 40000, 1), 21); // ICMP: no port
    expect(log.since(0)).toEqual({ 40000: [15, 25], 40001: [17] });
    expect(log.since(16)).toEqual({ 40001: [17], 40000: [25] });
  });

  it('grows to its cap, then counts what it could not keep', () => {
    const log = new DeliveryLog(5000);
    for (let i = 0; i < 6000; i++) log.record(packet(1000, 1), i);
    expect(log.since(0)[1]).toHaveLength(5000);
    expect(log.omitted).toBe(1000);
  });
});
