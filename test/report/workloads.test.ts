/**
 * The handshake, multiplex and page sections of report.html, on results made by the real
 * workloads over simulated drivers (workloads-fixture.ts). Every expected figure is derived here
 * from the fixture's own cells and raw events, never written down.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as vega from 'vega';
import * as vegaLite from 'vega-lite';
import type { Protocol } from '../../src/drivers/types.ts';
import { compareSamples, median } from '../../src/metrics/index.ts';
import { renderReport } from '../../src/report/html.ts';
import { formatNumber } from '../../src/report/format.ts';
import type { Cell, CertificateChainInfo, RunResult } from '../../src/results/model.ts';
import type { RawEvent } from '../../src/results/events.ts';
import { DEVIATION_THRESHOLD_RTT, handshakeDetails, isLossFree } from '../../src/report/sections/handshake-analysis.ts';
import { buildWaterfall } from '../../src/report/sections/waterfall.ts';
import { handshakeFixture, multiplexFixture, workloadsFixture } from './workloads-fixture.ts';

interface ChartSlot {
  id: string;
  spec: Record<string, unknown>;
}

function chartsOf(html: string): ChartSlot[] {
  const m = /<script type="application\/json" id="bench-charts">([\s\S]*?)<\/script>/.exec(html);
  return JSON.parse(m![1]!) as ChartSlot[];
}

/** chart id -> title, from the figure markup. */
function chartTitles(html: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of html.matchAll(/<div class="chart-title">([^<]*)<\/div><div class="chart-body" id="(chart-\d+)"/g)) out.set(m[2]!, m[1]!);
  return out;
}

/** The HTML of one network variant's block. */
function networkBlock(html: string, label: string): string {
  const blocks = html.split('<section class="network"').slice(1);
  const block = blocks.find((b) => b.includes(`<h2>Network: ${label}</h2>`));
  expect(block, `block of network ${label}`).toBeDefined();
  return block!;
}

/** Compiles every spec with vega-lite and runs its dataflow headless with vega, as the page does. */
async function expectSpecsRender(charts: ChartSlot[]): Promise<void> {
  for (const chart of charts) {
    const compiled = vegaLite.compile({ ...chart.spec, width: 600 } as vegaLite.TopLevelSpec);
    const view = new vega.View(vega.parse(compiled.spec), { renderer: 'none' });
    await view.runAsync();
    const svg = await view.toSVG();
    expect(svg, chart.id).toMatch(/^<svg/);
    view.finalize();
  }
}

/** Median first byte in base RTTs over every connection of a (network, protocol, mode), from the cells. */
function measuredFirstByteRtt(result: RunResult, network: string, protocol: Protocol, mode: string): { rtt: number; expected: number } | undefined {
  const cells = result.cells.filter((c) => c.network === network && c.protocol === protocol && c.workloadType === 'handshake');
  const details = cells.map(handshakeDetails).filter((d) => d !== undefined);
  const firstBytes = details.flatMap((d) => (d.connections ?? []).filter((c) => c.mode === mode && !c.error).map((c) => c.phasesMs.firstByte!));
  const m = details[0]?.modes[mode as 'cold'];
  if (!m || 'notApplicable' in m || firstBytes.length === 0) return undefined;
  return { rtt: median(firstBytes) / details[0]!.baseRttMs, expected: m.expectedFirstByteRtt! };
}

const MODES = ['cold', 'resumed', '0rtt'] as const;
const PROTOCOLS: Protocol[] = ['h1', 'h2', 'h3'];

describe('handshake section', () => {
  let result: RunResult;
  let html: string;

  beforeAll(async () => {
    ({ result } = await handshakeFixture({ rttsMs: [20, 100], repetitions: 3, connections: 6 }));
    html = renderReport(result);
  });

  it('renders one section per network with a phase chart that vega-lite compiles and vega draws', async () => {
    expect(html.match(/class="workload-analysis handshake-analysis"/g)).toHaveLength(2);
    const titles = chartTitles(html);
    const mine = chartsOf(html).filter((c) => titles.get(c.id)?.startsWith('When each phase'));
    expect(mine).toHaveLength(2);
    await expectSpecsRender(mine);
  });

  it('shows 0-RTT for HTTP/1.1 and HTTP/2 as n/a with the reason the data gives, never a number', () => {
    for (const network of ['rtt=20ms', 'rtt=100ms']) {
      const block = networkBlock(html, network);
      for (const protocol of ['h1', 'h2'] as const) {
        const cell = result.cells.find((c) => c.network === network && c.protocol === protocol)!;
        const mode = handshakeDetails(cell)!.modes['0rtt'] as { notApplicable: string };
        expect(mode.notApplicable.length).toBeGreaterThan(10);
        const row = new RegExp(`<tr data-protocol="${protocol}" data-mode="0rtt">([\\s\\S]*?)</tr>`).exec(block)![1]!;
        expect(row).toContain(`n/a: ${mode.notApplicable.replace(/'/g, '&#39;')}`);
        const figures = row.slice(row.indexOf('class="na"'));
        expect(figures).not.toMatch(/\d+(\.\d+)? ms|\u00d7|\d RTT/);
      }
      // HTTP/3 0-RTT has numbers.
      expect(new RegExp(`<tr data-protocol="h3" data-mode="0rtt">[\\s\\S]*?data-phase="firstByte"`).test(block)).toBe(true);
    }
  });

  it('prints each phase in ms and in RTT multiples, and flags nothing when every median is within 0.1 RTT', () => {
    const block = networkBlock(html, 'rtt=100ms');
    for (const protocol of PROTOCOLS) {
      for (const mode of MODES) {
        const measured = measuredFirstByteRtt(result, 'rtt=100ms', protocol, mode);
        if (!measured) continue;
        expect(Math.abs(measured.rtt - measured.expected)).toBeLessThanOrEqual(DEVIATION_THRESHOLD_RTT);
        const row = new RegExp(`<tr data-protocol="${protocol}" data-mode="${mode}">([\\s\\S]*?)</tr>`).exec(block)![1]!;
        const cell = /data-phase="firstByte"[^>]*>([^<]*) ms<span class="rtt">([\d.]+)\u00d7<\/span>/.exec(row)!;
        expect(Number(cell[2])).toBeCloseTo(measured.rtt, 2);
        expect(row).toContain(`${measured.expected} RTT`);
      }
    }
    expect(block).not.toContain('<ul class="flags">');
    expect(block).toContain('within 0.1 RTT of its expected first-byte multiple');
  });
});

describe('handshake deviation flags', () => {
  let result: RunResult;
  let html: string;
  // Deliberate deviations: a whole extra round trip (QUIC cold), a fraction of one (HTTP/2 resumed),
  // one below the threshold (HTTP/1.1 cold) and an impossible early first byte (QUIC 0-RTT).
  const extraRtt = { h1: { cold: 0.04 }, h2: { resumed: 0.3 }, h3: { cold: 1, '0rtt': -0.4 } };

  beforeAll(async () => {
    ({ result } = await handshakeFixture({ rttsMs: [20, 100], repetitions: 3, connections: 6, extraRtt, seed: 3 }));
    html = renderReport(result);
  });

  it('flags exactly the protocol and mode pairs whose median deviates by more than 0.1 RTT', () => {
    for (const network of ['rtt=20ms', 'rtt=100ms']) {
      const block = networkBlock(html, network);
      let flagged = 0;
      for (const protocol of PROTOCOLS) {
        for (const mode of MODES) {
          const measured = measuredFirstByteRtt(result, network, protocol, mode);
          if (!measured) continue;
          const deviates = Math.abs(measured.rtt - measured.expected) > DEVIATION_THRESHOLD_RTT;
          flagged += deviates ? 1 : 0;
          expect(block.includes(`data-flag="${protocol}-${mode}"`), `${network} ${protocol} ${mode} deviation ${measured.rtt - measured.expected}`).toBe(deviates);
        }
      }
      expect(flagged).toBe(3);
    }
  });

  it('names the kind of cause the evidence points to', () => {
    const block = networkBlock(html, 'rtt=100ms');
    const flag = (id: string) => new RegExp(`<li class="kind-([a-z-]+)" data-flag="${id}">([\\s\\S]*?)</li>`).exec(block)!;
    const early = flag('h3-0rtt');
    expect(early[1]).toBe('workbench-bug');
    expect(early[2]).toContain('physically impossible');
    const cold = flag('h3-cold');
    expect(cold[1]).toBe('protocol');
    expect(cold[2]).toContain('anti-amplification');
    expect(cold[2]).toContain('1 extra round trip');
    const resumed = flag('h2-resumed');
    expect(resumed[1]).toBe('processing');
    // The evidence names where the excess appears and compares with the emulator's measured error.
    expect(resumed[2]).toContain('between request sent and first byte');
    expect(resumed[2]).toContain('emulator fidelity (userspace)');
    // The deviation is 0.3 RTT at every RTT: the evidence across networks says it grows with the RTT.
    expect(resumed[2]).toContain('grows with the RTT');
  });

  it('blames the emulator when its measured delay error explains the excess', () => {
    const f = result.environment.emulator.fidelity!;
    // 6 ms late per traversal: up to 36 ms over the 6 traversals before a TCP first byte, more than the 30 ms extra of HTTP/2 resumed at 100 ms.
    const slow: RunResult = { ...result, environment: { ...result.environment, emulator: { ...result.environment.emulator, fidelity: { ...f, oneWayDelayMeanMs: f.target.delayMs + 6 } } } };
    const block = networkBlock(renderReport(slow), 'rtt=100ms');
    const resumed = /<li class="kind-([a-z-]+)" data-flag="h2-resumed">([\s\S]*?)<\/li>/.exec(block)!;
    expect(resumed[1]).toBe('emulator');
    expect(resumed[2]).toContain('up to 36.00 ms over the 6 link traversals');
    // A whole extra round trip stays a protocol effect: the emulator explains only part of it.
    expect(/<li class="kind-([a-z-]+)" data-flag="h3-cold">/.exec(block)![1]).toBe('protocol');
  });

  it('says which certificate chain the handshakes carried, and whether it explains a cold QUIC extra round trip', () => {
    // DER sizes of generated chains: RSA 4096 with three intermediates, ECDSA P-256 alone.
    const withChain = (certificate: CertificateChainInfo): RunResult => ({ ...result, environment: { ...result.environment, certificate } });
    const large = networkBlock(renderReport(withChain({ key: 'rsa-4096', intermediates: 3, certificateBytes: [1391, 1336, 1336, 1326], chainBytes: 5389 })), 'rtt=100ms');
    expect(large).toContain('data-certificate="rsa-4096-3"');
    expect(large).toContain('RSA 4096, 3 intermediate CAs: 4 certificates sent, 5,389 bytes');
    expect(large).toContain('over the anti-amplification limit of 3,600 bytes');
    const cold = /<li class="kind-([a-z-]+)" data-flag="h3-cold">([\s\S]*?)<\/li>/.exec(large)!;
    expect(cold[1]).toBe('protocol');
    expect(cold[2]).toContain('1 extra round trip, from the anti-amplification limit');
    expect(cold[2]).toContain('certificate chain exceeds.');
    const small = networkBlock(renderReport(withChain({ key: 'ecdsa-p256', intermediates: 0, certificateBytes: [473], chainBytes: 473 })), 'rtt=100ms');
    expect(small).toContain('ECDSA P-256, no intermediate CA: 1 certificate sent, 473 bytes');
    expect(small).toContain('under the anti-amplification limit');
    expect(small).toContain('certificate chain keeps the first flight below that, so check for a Retry first');
  });

  it('with a chain over the limit, splits a cold QUIC excess into the amplification round trip and processing, and never blames the chain for a resumed one', async () => {
    const { result: slow } = await handshakeFixture({ rttsMs: [100], repetitions: 3, connections: 6, extraRtt: { h3: { cold: 1.7, resumed: 1 } }, seed: 5 });
    slow.environment.certificate = { key: 'rsa-4096', intermediates: 3, certificateBytes: [1391, 1336, 1336, 1326], chainBytes: 5389 };
    const block = networkBlock(renderReport(slow), 'rtt=100ms');
    const flag = (id: string) => /<li class="kind-([a-z-]+)" data-flag="([^"]+)">([\s\S]*?)<\/li>/g.exec(block.slice(block.indexOf(`data-flag="${id}"`) - 40))!;
    const cold = flag('h3-cold');
    expect(cold[1]).toBe('protocol');
    expect(cold[3]).toMatch(/HTTP\/3 cold: 1\.[67]\d RTT extra: one round trip from the anti-amplification limit.*; the other 0\.[67]\d RTT \([\d.]+ ms\) is time in the client or server/);
    const resumed = flag('h3-resumed');
    expect(resumed[1]).toBe('protocol');
    expect(resumed[3]).toContain('a resumed handshake sends no certificate, so check for a Retry first');
  });

  it('does not flag on a link that drops packets on purpose', () => {
    const lossy: RunResult = {
      ...result,
      networks: result.networks.map((n) =>
        n.spec.kind === 'shaped'
          ? { ...n, spec: { ...n.spec, paths: n.spec.paths.map((p) => ({ ...p, down: { ...p.down, loss: { model: 'random' as const, probability: 0.01, correlation: 0 } } })) } }
          : n,
      ),
    };
    expect(lossy.networks.every((n) => !isLossFree(n))).toBe(true);
    const page = renderReport(lossy);
    expect(page).not.toContain('<ul class="flags">');
    expect(page).toContain('drops packets on purpose');
  });
});

describe('multiplex (head-of-line) section', () => {
  let result: RunResult;
  let raw: RawEvent[];
  let html: string;

  beforeAll(async () => {
    ({ result, raw } = await multiplexFixture({ losses: [0, 0.02], repetitions: 3, requests: 40, rounds: 3 }));
    html = renderReport(result, { raw });
  });

  const cellsOf = (network: string, protocol: Protocol): Cell[] =>
    result.cells.filter((c) => c.network === network && c.protocol === protocol && c.workloadType === 'multiplex' && !c.error);

  it('states the H3 vs H2 p99 comparison with its interval from the per-repetition p99s', () => {
    const block = networkBlock(html, 'loss=2%');
    const h3 = cellsOf('loss=2%', 'h3').map((c) => c.metrics.latency!.p99);
    const h2 = cellsOf('loss=2%', 'h2').map((c) => c.metrics.latency!.p99);
    const c = compareSamples(h3, h2);
    const pct = Math.round(Math.abs(c.ratio - 1) * 100);
    const headline = /<ul class="findings"><li[^>]*>([^<]*)<\/li>/.exec(block)![1]!;
    expect(headline).toContain(`HTTP/3 p99 request latency ${pct}% ${c.ratio < 1 ? 'lower' : 'higher'} than HTTP/2 (95% CI`);
    expect(headline).toContain(`${h3.length} repetitions each`);
  });

  it('reports streams stalled per loss event per protocol from the drop log analysis', () => {
    const block = networkBlock(html, 'loss=2%');
    for (const [protocol, name] of [['h1', 'HTTP/1.1'], ['h2', 'HTTP/2'], ['h3', 'HTTP/3']] as const) {
      const stalled = cellsOf('loss=2%', protocol).flatMap((c) => (c.details!.multiplex as { stalledPerLoss: number[] }).stalledPerLoss);
      expect(stalled.length).toBeGreaterThan(0);
      expect(block).toContain(`${name} ${formatMean(stalled)} of`);
      expect(block).toContain(`(${stalled.length} loss events)`);
    }
    // No loss, nothing stalled: said in words rather than drawn as empty charts.
    expect(networkBlock(html, 'loss=0%')).toContain('No packet was dropped on these connections');
  });

  it('draws a waterfall per protocol from the repetition with the median p99, with that round\u2019s drops', async () => {
    const titles = chartTitles(networkBlock(html, 'loss=2%'));
    const charts = chartsOf(html);
    for (const [protocol, name] of [['h1', 'HTTP/1.1'], ['h2', 'HTTP/2'], ['h3', 'HTTP/3']] as const) {
      const cells = cellsOf('loss=2%', protocol).sort((a, b) => a.metrics.latency!.p99 - b.metrics.latency!.p99);
      const rep = cells[1]!.repetition;
      const chart = charts.find((c) => titles.get(c.id)?.startsWith(`${name}: repetition ${rep + 1}, round`));
      expect(chart, `${name} waterfall`).toBeDefined();
      const layers = chart!.spec.layer as Array<{ data?: { values: Array<{ tMs: number | null; srcPort?: number; dstPort?: number }> } }>;
      const bars = (chart!.spec.data as { values: unknown[] }).values;
      expect(bars).toHaveLength(40);
      // Every drop drawn belongs to a connection of that repetition (by its client port).
      const ports = new Set(
        raw.filter((e) => e.type === 'connection' && e.network === 'loss=2%' && e.protocol === protocol && e.repetition === rep).map((e) => (e as { localPort: number }).localPort),
      );
      const drops = layers.find((l) => l.data)!.data!.values.filter((d) => d.tMs !== null);
      expect(drops.length, `${name} drops`).toBeGreaterThan(0);
      for (const d of drops) expect(ports.has(d.dstPort!) || ports.has(d.srcPort!)).toBe(true);
      await expectSpecsRender([chart!]);
    }
  });

  it('compiles and draws every chart of the section', async () => {
    const titles = chartTitles(networkBlock(html, 'loss=2%'));
    const mine = chartsOf(html).filter((c) => /Streams stalled|Stall time|Excess latency/.test(titles.get(c.id) ?? ''));
    expect(mine.length).toBe(3);
    await expectSpecsRender(mine);
  });

  it('shows the transport statistics the workload collected', () => {
    const block = networkBlock(html, 'loss=2%');
    const table = /<table class="compact transport">([\s\S]*?)<\/table>/.exec(block)![1]!;
    for (const protocol of PROTOCOLS) {
      const stats = cellsOf('loss=2%', protocol).flatMap((c) => (c.details!.multiplex as { transportPerConnection: unknown[] }).transportPerConnection);
      const row = new RegExp(`<tr data-protocol="${protocol}">([\\s\\S]*?)</tr>`).exec(table)![1]!;
      expect(row).toContain(`<td class="num">${stats.length}</td>`);
    }
  });

  it('marks the HTTP/3 client RTT as misdated when quiche backdated most of its packets, and only then', () => {
    const dated = (share: number, meanMs: number): string => {
      const copy: RunResult = structuredClone(result);
      for (const c of copy.cells.filter((x) => x.workloadType === 'multiplex' && x.network === 'loss=2%' && x.protocol === 'h3')) {
        const transport = (c.details!.multiplex as unknown as { transportPerConnection: Array<Record<string, unknown>> }).transportPerConnection;
        for (const t of transport) t.sendDating = { packets: 200, backdated: Math.round(200 * share), backdatedMeanMs: meanMs, backdatedMaxMs: 2 * meanMs };
      }
      return networkBlock(renderReport(copy), 'loss=2%');
    };
    const misdated = dated(0.9, 42);
    const h3Row = /<tr data-protocol="h3">([\s\S]*?)<\/tr>/.exec(/<table class="compact transport">([\s\S]*?)<\/table>/.exec(misdated)![1]!)![1]!;
    expect(h3Row).toContain('title="misdated: see below the table">*</span>');
    expect(misdated).toMatch(/<p class="note transport-rtt-note">\* The HTTP\/3 client&#39;s RTT reads high: quiche dated 90% of the client&#39;s packets on average 42 ms before it built them/);
    // A little backdating (timer granularity) is not worth a word.
    for (const html of [dated(0.05, 42), dated(0.9, 2)]) {
      expect(html).not.toContain('transport-rtt-note');
      expect(html).not.toContain('misdated');
    }
  });

  it('gives the HTTP/3 server\'s dated-early share and mean, weighted by packets', () => {
    const copy: RunResult = structuredClone(result);
    const h3 = copy.cells.filter((x) => x.workloadType === 'multiplex' && x.network === 'loss=2%' && x.protocol === 'h3');
    const sender = { sentPackets: 1000, sentBytes: 1e6, lostPackets: 0, retransmittedPackets: 0, pacing: { queued: 0, lateSumMs: 0, lateMaxMs: 0, lateOver1Ms: 0, maxDepth: 0 } };
    // 30 of 1,000 early by 10 ms and 10 of 1,000 by 50 ms: 2%, (300 + 500) / 40 = 20 ms.
    h3[0]!.serverQuic = [{ ...sender, dating: { packets: 1000, backdated: 30, backdatedMeanMs: 10, backdatedMaxMs: 20 } }];
    for (const c of h3.slice(1)) c.serverQuic = [{ ...sender, dating: { packets: 1000, backdated: 10, backdatedMeanMs: 50, backdatedMaxMs: 90 } }];
    const block = networkBlock(renderReport(copy), 'loss=2%');
    const table = /<table class="compact transport quic-sender">([\s\S]*?)<\/table>/.exec(block)![1]!;
    const packets = 1000 * h3.length;
    const early = 30 + 10 * (h3.length - 1);
    const meanMs = (30 * 10 + 10 * 50 * (h3.length - 1)) / early;
    expect(table).toContain(`<td class="num">${formatNumber((100 * early) / packets)}% <span class="muted">(${formatNumber(meanMs)} ms)</span></td>`);
  });

  it('shows the exact head-of-line figures beside the delivery log, or why there are none, never zeros', () => {
    // The fixture's cells have no capture (the runner adds exactHol from one): HTTP/3 gets figures
    // made here, HTTP/2 says why it has none, as a run without --capture would.
    const withExact: RunResult = structuredClone(result);
    for (const c of withExact.cells.filter((x) => x.workloadType === 'multiplex' && x.network === 'loss=2%')) {
      const m = c.details!.multiplex!;
      m.exactHol =
        c.protocol === 'h3'
          ? {
              source: 'decrypted capture',
              scope: 'stream',
              perLoss: m.stalledPerLoss.map((_, i) => ({ hit: 1, blocked: i % 2, blockedMs: i % 2 ? [100] : [], peakHeldBytes: i % 2 ? [2600] : [], blockedFromMs: i % 2 ? [60] : [], requests: i % 2 ? [3] : [] })),
              blockedIntervals: Math.floor(m.stalledPerLoss.length / 2),
              unexplained: 0,
            }
          : { unavailable: 'the run had no capture to rebuild the receiver\'s reassembly from (bench run --capture)' };
    }
    const block = networkBlock(renderReport(withExact), 'loss=2%');
    const table = /<table class="compact exact-hol">([\s\S]*?)<\/table>/.exec(block)![1]!;
    const h3 = /<tr data-protocol="h3" data-exact-hol="stream">([\s\S]*?)<\/tr>/.exec(table)![1]!;
    expect(h3).toContain('decrypted capture');
    const perLoss = cellsOf('loss=2%', 'h3').flatMap((c) => c.details!.multiplex!.stalledPerLoss.map((_, i) => i % 2));
    expect(h3).toContain(`>${formatMean(perLoss)} <span class="muted">streams</span>`);
    expect(table).toMatch(/<tr data-protocol="h2"><th[^>]*>.*HTTP\/2<\/th><td colspan="7" class="missing">exact form unavailable: the run had no capture/);
    expect(block).toContain('HTTP/3: each loss event');
    // Results from before the exact form: not recorded, said so.
    expect(networkBlock(html, 'loss=2%')).toContain('exact form unavailable: the bench that wrote these results did not rebuild the reassembly from a capture');
  });

  it('says the waterfall needs raw.jsonl when rendered from result.json alone', () => {
    const page = renderReport(result);
    expect(page).toContain('The waterfall needs raw.jsonl');
    expect(page).not.toMatch(/HTTP\/2: repetition \d+, round/);
  });
});

describe('buildWaterfall', () => {
  const key = { network: 'n', protocol: 'h2' as const, workload: 'w', repetition: 0 };
  const request = (id: string, conn: string, queued: number, done: number): RawEvent => ({ type: 'request', ...key, id, connectionId: conn, path: '/bytes/1', queued, sent: queued + 1, firstByte: done - 2, done, bytes: 1, status: 200 });
  const connection = (id: string, port: number): RawEvent => ({ type: 'connection', ...key, id, protocol: 'h2', start: 0, resumed: false, earlyData: 'n/a', localPort: port });
  const drop = (t: number, port: number): RawEvent => ({ type: 'drop', ...key, t, path: 'primary', dir: 'down', proto: 'tcp', srcPort: 443, dstPort: port, len: 1252, reason: 'loss' });

  it('splits rounds, shows the one with the median drop count and joins drops by client port', () => {
    const raw: RawEvent[] = [
      connection('a', 1001), request('a1', 'a', 0, 50), request('a2', 'a', 0, 60), drop(10, 1001),
      connection('b', 1002), request('b1', 'b', 100, 150), drop(110, 1002), drop(120, 1002), drop(121, 9999),
      connection('c', 1003), request('c1', 'c', 200, 260), drop(210, 1003), drop(220, 1003), drop(230, 1003), drop(240, 1003),
    ];
    const w = buildWaterfall(raw, key)!;
    expect(w.rounds).toBe(3);
    expect(w.dropsPerRound).toEqual([1, 2, 4]);
    expect(w.round).toBe(2);
    expect(w.joinedBy).toBe('port');
    expect(w.drops.map((d) => d.tMs)).toEqual([10, 20]);
    expect(w.bars).toEqual([expect.objectContaining({ index: 1, startMs: 1, firstByteMs: 48, doneMs: 50, latencyMs: 50 })]);
  });

  it('leaves out other phases and other cells', () => {
    const raw: RawEvent[] = [request('x', 'a', 0, 10), { ...request('y', 'a', 0, 10), phase: 'reference' } as RawEvent, { ...request('z', 'a', 0, 10), repetition: 1 } as RawEvent];
    expect(buildWaterfall(raw, key)!.bars).toHaveLength(1);
    expect(buildWaterfall(raw, { ...key, repetition: 2 })).toBeUndefined();
  });
});

describe('page section and handshakes per page', () => {
  let result: RunResult;
  let html: string;

  beforeAll(async () => {
    ({ result } = await workloadsFixture());
    html = renderReport(result);
  });

  it('shows connections per load from the page workload, in the page section and beside the handshakes', () => {
    const pageCells = result.cells.filter((c) => c.workloadType === 'page');
    const section = /<div class="workload-analysis page-analysis">([\s\S]*?)<\/table>/.exec(html)![1]!;
    for (const protocol of PROTOCOLS) {
      const perLoad = pageCells.filter((c) => c.protocol === protocol).flatMap((c) => (c.details!.page as { handshakesPerLoad: number[] }).handshakesPerLoad);
      expect(perLoad.length).toBeGreaterThan(0);
      const m = median(perLoad);
      expect(section).toMatch(new RegExp(`<tr data-protocol="${protocol}">[\\s\\S]*?data-connections="${m}"`));
      const words = protocol === 'h3' ? `HTTP/3: ${m} QUIC handshake` : `${protocol === 'h1' ? 'HTTP/1.1' : 'HTTP/2'}: ${m} TCP + ${m} TLS handshake`;
      expect(html.match(/<p class="section-note handshakes-per-page">[\s\S]*?<\/p>/)![0]).toContain(words);
    }
  });

  it('compares page load times with an interval and draws its charts', async () => {
    const h3 = result.cells.filter((c) => c.workloadType === 'page' && c.protocol === 'h3').map((c) => c.metrics.pageLoad!.p50);
    const h2 = result.cells.filter((c) => c.workloadType === 'page' && c.protocol === 'h2').map((c) => c.metrics.pageLoad!.p50);
    const c = compareSamples(h3, h2);
    expect(html).toContain(`HTTP/3 median page load ${Math.round(Math.abs(c.ratio - 1) * 100)}% ${c.ratio < 1 ? 'lower' : 'higher'} than HTTP/2 (95% CI`);
    const titles = chartTitles(html);
    const mine = chartsOf(html).filter((ch) => /Page load time CDF|Median page load per repetition/.test(titles.get(ch.id) ?? ''));
    expect(mine).toHaveLength(2);
    await expectSpecsRender(mine);
  });
});

function formatMean(values: number[]): string {
  const m = values.reduce((a, b) => a + b, 0) / values.length;
  // formatNumber: three significant digits.
  const decimals = m >= 100 ? 0 : m >= 10 ? 1 : m >= 1 ? 2 : 3;
  return m.toLocaleString('en-US', { minimumFractionDigits: decimals, maximumFractionDigits: decimals });
}
