/**
 * The report's line on which senders paced (network.pacing): what each setting makes the stacks do,
 * as servers/listen.ts and src/quic/config.ts apply it.
 */
import { describe, expect, it } from 'vitest';
import { describePacing } from '../../src/report/network.ts';

describe('describePacing', () => {
  it('default: bench paces QUIC at Linux TCP\'s gains; Linux TCP paces only with BBR', () => {
    const cubic = describePacing('default', 'cubic');
    expect(cubic).toContain('QUIC paced by bench (2 x cwnd/srtt in slow start, 1.2 x after');
    expect(cubic).toContain('TCP not paced (cubic without an fq qdisc sends in bursts)');
    const bbr = describePacing('default', 'bbr');
    expect(bbr).toContain('QUIC paced by BBR (quiche)');
    expect(bbr).toContain('TCP paced by BBR');
  });

  it('on: both pace by the same gains; off: neither; quiche: quiche\'s own pacer for QUIC', () => {
    const on = describePacing('on', 'cubic');
    expect(on).toContain('QUIC paced by bench (2 x cwnd/srtt in slow start, 1.2 x after');
    expect(on).toContain('TCP paced by Linux (2 x cwnd/srtt in slow start, 1.2 x after)');
    expect(describePacing('off', 'cubic')).toBe('pacing off: neither QUIC nor TCP paces');
    const quiche = describePacing('quiche', 'cubic');
    expect(quiche).toContain('QUIC paced by quiche (1.25 x cwnd/srtt, in slow start too');
    expect(quiche).toContain('TCP not paced');
  });
});
