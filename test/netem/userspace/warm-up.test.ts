import { describe, expect, it } from 'vitest';
import { fidelitySpec } from '../../../netem/fidelity.ts';
import { DIRECTION_DEFAULTS } from '../../../netem/model.ts';
import { summarize } from '../../../netem/userspace/model/packet.ts';
import { syntheticUdpPacket, warmUpEngine } from '../../../netem/userspace/model/warm-up.ts';

describe('link warm-up', () => {
  it('builds IPv4/UDP packets the model reads', () => {
    const s = summarize(syntheticUdpPacket(1200, '198.18.0.10', 40000, 443));
    expect(s).toMatchObject({ proto: 'udp', len: 1200, srcPort: 40000, dstPort: 443 });
  });

  it('runs the paths\' own models and the quiet variant, releasing what they do not drop', () => {
    const releases: number[] = [];
    const r = warmUpEngine({
      paths: fidelitySpec().paths,
      addresses: [{ clientAddress: '198.18.0.10', rebindAddress: '198.18.1.10' }],
      packets: 2000,
      onRelease: (_p, _d, _packet, dueMs) => releases.push(dueMs),
    });
    expect(r.offered).toBe(4000);
    expect(releases.length).toBe(r.released);
    // 1% loss in the first variant, none in the second; the rate is never exceeded, so no queue drops.
    expect(r.released).toBeGreaterThan(0.98 * r.offered);
    expect(r.released).toBeLessThanOrEqual(r.offered);
  });

  it('works for an unshaped path and a rate trace (the trace left out)', () => {
    const plain = { ...DIRECTION_DEFAULTS, delayMs: 1 };
    const r = warmUpEngine({ paths: [{ name: 'p', up: { ...plain, rateTrace: '/no/such/file' }, down: plain }], packets: 500 });
    expect(r.released).toBe(1000);
  });
});
