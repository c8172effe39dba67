/**
 * What the report says about a network's link emulator: which backend ran and why, and whether its
 * drop log made head-of-line figures possible (never "no packet was dropped" for a link that kept
 * no log).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { renderReport } from '../../src/report/html.ts';
import { renderSummaryMarkdown } from '../../src/report/summary.ts';
import type { RunResult } from '../../src/results/model.ts';
import type { RawEvent } from '../../src/results/events.ts';
import { multiplexFixture } from './workloads-fixture.ts';

function networkBlock(html: string, label: string): string {
  const block = html.split('<section class="network"').slice(1).find((b) => b.includes(`<h2>Network: ${label}</h2>`));
  expect(block, `block of network ${label}`).toBeDefined();
  return block!;
}

describe('the link emulator in the report: backend, why, drop log', () => {
  let result: RunResult;
  let raw: RawEvent[];

  beforeAll(async () => {
    ({ result, raw } = await multiplexFixture({ losses: [0.02], repetitions: 1, requests: 20, rounds: 1 }));
  });

  const withNetwork = (over: Partial<RunResult['networks'][number]>): RunResult => ({
    ...result,
    networks: result.networks.map((n) => ({ ...n, ...over })),
  });

  it('a kernel link that kept its drop log: head-of-line figures as on the userspace link, and why that backend', () => {
    const r = withNetwork({
      backend: 'kernel',
      backendReason: 'auto: kernel (tc netem) because its fidelity measurement on this machine passed (2026-12-04)',
      dropLog: { kept: true, detail: 'packets entering each netem qdisc (mirrored before it) against packets arriving at the other end' },
    });
    const block = networkBlock(renderReport(r, { raw }), 'loss=2%');
    expect(block).not.toContain('Head-of-line figures are unavailable');
    expect(block).toContain('Streams stalled per loss event');
    expect(block).toContain('Link emulator: auto: kernel (tc netem) because its fidelity measurement on this machine passed (2026-12-04).');
    expect(renderSummaryMarkdown(r)).toContain('(auto: kernel (tc netem) because its fidelity measurement on this machine passed (2026-12-04))');
  });

  it('a link whose drop log is missing or incomplete: unavailable, with the reason, never "no packet was dropped"', () => {
    const r = withNetwork({ backend: 'kernel', dropLog: { kept: false, detail: 'the capture behind the drop log lost 12 packet(s) (its socket buffers overflowed), so it is incomplete' } });
    const block = networkBlock(renderReport(r, { raw }), 'loss=2%');
    expect(block).toContain(
      'Head-of-line figures are unavailable on this network: the capture behind the drop log lost 12 packet(s) (its socket buffers overflowed), so it is incomplete, so no loss event can be joined with the streams.',
    );
    expect(block).not.toContain('No packet was dropped');
  });

  it('a result from before the drop log was recorded: the kernel backend had none', () => {
    const r = withNetwork({ backend: 'kernel', dropLog: undefined, backendReason: undefined });
    const block = networkBlock(renderReport(r, { raw }), 'loss=2%');
    expect(block).toContain('Head-of-line figures are unavailable on this network: the kernel backend of the bench that wrote this result kept no log');
    expect(block).not.toContain('Link emulator:');
    const userspace = networkBlock(renderReport(withNetwork({ backend: 'userspace', dropLog: undefined }), { raw }), 'loss=2%');
    expect(userspace).not.toContain('Head-of-line figures are unavailable');
  });
});
