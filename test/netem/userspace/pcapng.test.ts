/** The pcapng writer's blocks, byte for byte where the format fixes them, and as tshark reads them. */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DIRECTION_INBOUND, DIRECTION_OUTBOUND, interfaceDescription, packetBlocks, readPcapng, sectionHeader } from '../../../netem/userspace/pcapng.ts';
import { peerMissing, which } from '../../support/peers.ts';

/** A UDP/IPv4 packet 10.0.0.1:1000 -> 10.0.0.2:2000 with a 3-byte payload (checksums 0). */
const UDP = Buffer.from('4500001f00000000401100000a0000010a000002' + '03e807d0000b0000' + '616263', 'hex');

describe('pcapng blocks', () => {
  it('reads back what it writes: interfaces, times above 2^32 us, data, comments, direction', () => {
    const file = Buffer.concat([
      sectionHeader({ comment: 's' }),
      interfaceDescription({ name: 'a received', description: 'd' }),
      interfaceDescription({ name: 'a delivered' }),
      packetBlocks([
        { interfaceId: 0, timestampUs: 2 ** 32 + 5, data: UDP, direction: DIRECTION_INBOUND, comments: ['dropped by the link: loss', 'dropped by the link: loss'] },
        { interfaceId: 1, timestampUs: 1_700_000_000_123_456, data: UDP.subarray(0, 21), direction: DIRECTION_OUTBOUND },
      ]),
    ]);
    const read = readPcapng(file);
    expect(read.interfaces.map((i) => [i.name, i.linkType])).toEqual([['a received', 101], ['a delivered', 101]]);
    expect(read.packets.map((p) => [p.interfaceId, p.timestampUs, Buffer.from(p.data).toString('hex'), p.direction, p.comments])).toEqual([
      [0, 2 ** 32 + 5, UDP.toString('hex'), DIRECTION_INBOUND, ['dropped by the link: loss', 'dropped by the link: loss']],
      [1, 1_700_000_000_123_456, UDP.subarray(0, 21).toString('hex'), DIRECTION_OUTBOUND, undefined],
    ]);
    // A block cut short (a file still being written) ends the reading.
    expect(readPcapng(file.subarray(0, file.length - 3)).packets).toHaveLength(1);
  });

  it('frames every block with its length at both ends, padded to 32 bits', () => {
    for (const b of [sectionHeader({ comment: 'x' }), interfaceDescription({ name: 'abc' }), packetBlocks([{ interfaceId: 0, timestampUs: 1, data: UDP }])]) {
      expect(b.length % 4).toBe(0);
      expect(b.readUInt32LE(4)).toBe(b.length);
      expect(b.readUInt32LE(b.length - 4)).toBe(b.length);
    }
    const shb = sectionHeader();
    expect(shb.readUInt32LE(0)).toBe(0x0a0d0d0a);
    expect(shb.readUInt32LE(8)).toBe(0x1a2b3c4d);
    const epb = packetBlocks([{ interfaceId: 3, timestampUs: 2 ** 32 + 5, data: UDP }]);
    expect([epb.readUInt32LE(0), epb.readUInt32LE(8), epb.readUInt32LE(12), epb.readUInt32LE(16), epb.readUInt32LE(20)]).toEqual([6, 3, 1, 5, UDP.length]);
    expect(epb.subarray(28, 28 + UDP.length).equals(UDP)).toBe(true);
  });

  const skip = peerMissing(!!which('tshark'), 'tshark (apt-get install tshark)');
  it.skipIf(skip)('reads back in tshark: interfaces, times, comments, direction, raw IP', () => {
    const dir = mkdtempSync(join(tmpdir(), 'bench-pcapng-'));
    try {
      const file = join(dir, 'x.pcapng');
      const t0 = Date.UTC(2026, 0, 2, 3, 4, 5) * 1000 + 678;
      writeFileSync(
        file,
        Buffer.concat([
          sectionHeader({ application: 'bench test', comment: 'section' }),
          interfaceDescription({ name: 'one', description: 'first' }),
          interfaceDescription({ name: 'two' }),
          packetBlocks([
            { interfaceId: 0, timestampUs: t0, data: UDP, direction: DIRECTION_INBOUND, comments: ['hello', 'again'] },
            { interfaceId: 1, timestampUs: t0 + 1500, data: UDP.subarray(0, 31) },
          ]),
        ]),
      );
      const out = execFileSync('tshark', ['-r', file, '-T', 'fields', '-E', 'separator=|', '-e', 'frame.interface_name', '-e', 'frame.time_epoch', '-e', 'frame.comment', '-e', 'ip.src', '-e', 'udp.dstport', '-e', 'frame.packet_flags_direction'], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
      });
      const [a, b] = out.trim().split('\n').map((l) => l.split('|'));
      expect(a).toEqual(['one', '1767323045.000678000', 'hello,again', '10.0.0.1', '2000', '0x00000001']);
      expect(b!.slice(0, 4)).toEqual(['two', '1767323045.002178000', '', '10.0.0.1']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
