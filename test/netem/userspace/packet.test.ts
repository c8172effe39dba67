import { describe, expect, it } from 'vitest';
import {
  flipBit,
  ipv4HeaderChecksum,
  ipv4ToUint,
  ipv4TransportChecksum,
  rewriteIpv4Address,
  rewriteIpv4Port,
  summarize,
  uintToIpv4,
} from '../../../netem/userspace/model/packet.ts';
import { mapPort, Rebinder, unmapPort } from '../../../netem/userspace/model/rebind.ts';
import { Xoshiro128 } from '../../../netem/userspace/model/rng.ts';
import { buildPacket, checksumsValid } from './helpers.ts';

function hex(s: string): Uint8Array {
  return Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
}

describe('checksums', () => {
  it('computes the IPv4 header checksum of the textbook example (checksum b861)', () => {
    const h = hex('4500 0073 0000 4000 4011 b861 c0a8 0001 c0a8 00c7');
    expect(ipv4HeaderChecksum(h).toString(16)).toBe('b861');
  });

  it('computes TCP and UDP checksums that a receiver verifies', () => {
    for (const proto of ['tcp', 'udp'] as const) {
      for (const len of [0, 1, 7, 1000]) {
        const p = buildPacket({ proto, src: '198.18.0.10', dst: '198.18.0.1', srcPort: 40000, dstPort: 443, payload: new Uint8Array(len).fill(0xa5) });
        expect(checksumsValid(p)).toBe(true);
        p[p.length - 1] = p[p.length - 1]! ^ 1;
        expect(checksumsValid(p)).toBe(false);
      }
    }
  });

  it('incremental updates after address and port rewrites equal a full recomputation', () => {
    const r = new Xoshiro128(11);
    const ip = () => uintToIpv4(Math.floor(r.next() * 2 ** 32));
    const port = () => Math.floor(r.next() * 65536);
    for (let i = 0; i < 2000; i++) {
      const proto = i % 2 ? 'tcp' : 'udp';
      const payload = Uint8Array.from({ length: Math.floor(r.next() * 64) }, () => Math.floor(r.next() * 256));
      const p = buildPacket({ proto, src: ip(), dst: ip(), srcPort: port(), dstPort: port(), payload });
      rewriteIpv4Address(p, 12, ipv4ToUint(ip()));
      rewriteIpv4Address(p, 16, ipv4ToUint(ip()));
      rewriteIpv4Port(p, 0, port());
      rewriteIpv4Port(p, 2, port());
      const csumAt = proto === 'tcp' ? 36 : 26;
      expect(((p[10]! << 8) | p[11]!)).toBe(ipv4HeaderChecksum(p));
      expect(((p[csumAt]! << 8) | p[csumAt + 1]!)).toBe(ipv4TransportChecksum(p));
      expect(checksumsValid(p)).toBe(true);
    }
  });

  it('leaves a zero UDP checksum (none) as zero', () => {
    const p = buildPacket({ proto: 'udp', src: '10.0.0.1', dst: '10.0.0.2', srcPort: 1, dstPort: 2, udpChecksum: false });
    rewriteIpv4Address(p, 12, ipv4ToUint('10.9.9.9'));
    rewriteIpv4Port(p, 0, 5555);
    expect(p[26]).toBe(0);
    expect(p[27]).toBe(0);
    expect(checksumsValid(p)).toBe(true);
  });
});

describe('packet summary', () => {
  it('reads protocol, ports and TCP sequence number', () => {
    const t = buildPacket({ proto: 'tcp', src: '1.2.3.4', dst: '5.6.7.8', srcPort: 1234, dstPort: 80, tcpSeq: 0xdeadbeef });
    expect(summarize(t)).toEqual({ proto: 'tcp', srcPort: 1234, dstPort: 80, tcpSeq: 0xdeadbeef, len: t.length });
    const u = buildPacket({ proto: 'udp', src: '1.2.3.4', dst: '5.6.7.8', srcPort: 5353, dstPort: 443 });
    expect(summarize(u)).toEqual({ proto: 'udp', srcPort: 5353, dstPort: 443, len: u.length });
    expect(summarize(new Uint8Array([0x60, 0, 0, 0]))).toEqual({ proto: 'other', len: 4 });
    expect(summarize(new Uint8Array(0))).toEqual({ proto: 'other', len: 0 });
  });

  it('flipBit changes exactly one bit', () => {
    const p = new Uint8Array(8);
    flipBit(p, 13);
    expect(Array.from(p)).toEqual([0, 0x20, 0, 0, 0, 0, 0, 0]);
  });
});

describe('NAT rebinding', () => {
  const client = '198.18.0.10';
  const rebound = '198.18.1.10';
  const server = '198.18.0.1';

  it('maps ports bijectively and back, generation after generation', () => {
    for (const g of [1, 2, 7]) {
      const seen = new Set<number>();
      for (let p = 1024; p < 65536; p++) {
        const m = mapPort(p, g);
        if (m < 1024) throw new Error(`map(${p}, ${g}) = ${m} is below 1024`);
        seen.add(m);
        if (unmapPort(m, g) !== p) throw new Error(`unmap(map(${p}, ${g})) != ${p}`);
      }
      expect(seen.size).toBe(65536 - 1024);
      expect(mapPort(1024, g)).not.toBe(mapPort(1024, g - 1));
    }
    expect(mapPort(443, 3)).toBe(443);
  });

  it('rewrites the client source on the way up and restores it on the way down, checksums valid', () => {
    const rb = new Rebinder(ipv4ToUint(client), ipv4ToUint(rebound));
    const up0 = buildPacket({ proto: 'udp', src: client, dst: server, srcPort: 50000, dstPort: 443 });
    const before = Uint8Array.from(up0);
    rb.translateUp(up0);
    expect(up0).toEqual(before); // nothing until a rebind phase

    rb.rebind({ port: true, address: true });
    for (const proto of ['udp', 'tcp'] as const) {
      const up = buildPacket({ proto, src: client, dst: server, srcPort: 50000, dstPort: 443 });
      rb.translateUp(up);
      const s = summarize(up);
      expect(uintToIpv4(((up[12]! << 24) | (up[13]! << 16) | (up[14]! << 8) | up[15]!) >>> 0)).toBe(rebound);
      expect(s.srcPort).toBe(mapPort(50000, 1));
      expect(s.srcPort).not.toBe(50000);
      expect(checksumsValid(up)).toBe(true);

      // The server answers the address and port it saw.
      const down = buildPacket({ proto, src: server, dst: rebound, srcPort: 443, dstPort: s.srcPort! });
      rb.translateDown(down);
      expect(down).toEqual(buildPacket({ proto, src: server, dst: client, srcPort: 443, dstPort: 50000 }));
    }
  });

  it('port-only rebinding keeps the address; another client address is left alone', () => {
    const rb = new Rebinder(ipv4ToUint(client), ipv4ToUint(rebound));
    rb.rebind({ port: true });
    const up = buildPacket({ proto: 'udp', src: client, dst: server, srcPort: 40000, dstPort: 443 });
    rb.translateUp(up);
    expect(summarize(up).srcPort).toBe(mapPort(40000, 1));
    expect(up.subarray(12, 16)).toEqual(Uint8Array.from([198, 18, 0, 10]));
    const other = buildPacket({ proto: 'udp', src: '198.18.0.11', dst: server, srcPort: 40000, dstPort: 443 });
    const copy = Uint8Array.from(other);
    rb.translateUp(other);
    expect(other).toEqual(copy);
  });

  it('a reset returns to no rewriting; with port or address it rebinds afresh from there', () => {
    const rb = new Rebinder(ipv4ToUint(client), ipv4ToUint(rebound));
    rb.rebind({ port: true, address: true });
    rb.rebind({ port: true });
    rb.rebind({ reset: true });
    const up = buildPacket({ proto: 'tcp', src: client, dst: server, srcPort: 40000, dstPort: 443 });
    const copy = Uint8Array.from(up);
    rb.translateUp(up);
    expect(up).toEqual(copy);
    expect(rb.active).toBe(false);
    rb.rebind({ reset: true, port: true });
    rb.translateUp(up);
    expect(summarize(up).srcPort).toBe(mapPort(40000, 1));
  });
});
