/**
 * The report's line on which senders paced (network.pacing): what each setting makes the stacks do,
 * as servers/listen.ts and src/quic/config.ts apply it.
 */
import { describe, expect, it } from 'vitest';
import { describePacing } from '../../src/report/network.ts';

describe('describePacing', () => {
  it('default: quiche paces, also in slow start; Linux TCP paces only with BBR', () => {
    const cubic = describePacing('default', 'cubic');
    expect(cubic).toContain('QUIC paced by quiche (1.25 x cwnd/srtt, in slow start too)');
    expect(cubic).toContain('TCP not paced (cubic without an fq qdisc sends in bursts)');
    expect(describePacing('default', 'bbr')).toContain('TCP paced by BBR');
  });

  it('on: both pace, each at its own rate; off: neither', () => {
    const on = describePacing('on', 'cubic');
    expect(on).toContain('QUIC paced by quiche');
    expect(on).toContain('TCP paced by Linux (2 x cwnd/srtt in slow start, 1.2 x after)');
    expect(describePacing('off', 'cubic')).toBe("pacing off: neither QUIC (quiche's pacer disabled) nor TCP paces");
  });
});
