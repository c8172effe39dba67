import { describe, expect, it } from 'vitest';
import { chartLibraries } from '../../src/report/assets.ts';
import { renderReport } from '../../src/report/html.ts';
import type { RunResult } from '../../src/results/model.ts';
import { NOT_SHAPED } from '../../src/report/network.ts';
import { registerWorkloadSection } from '../../src/report/sections/registry.ts';
import { fixtureResult } from './fixture.ts';

/** Every src/href attribute value in the page (scripts' contents are not markup). */
function urlAttributes(html: string): string[] {
  const markup = html.replace(/<script\b[^>]*>[\s\S]*?<\/script>/gi, '');
  return [...markup.matchAll(/\b(?:src|href|action|poster|data)\s*=\s*["']?([^"'\s>]+)/gi)].map((m) => m[1]!);
}

describe('renderReport', () => {
  const result = fixtureResult();
  const html = renderReport(result);

  it('is one self-contained page: the chart libraries inlined, no external URL to load', () => {
    for (const lib of chartLibraries()) {
      expect(html).toContain(`data-library="${lib.name}@${lib.version}"`);
    }
    const urls = urlAttributes(html);
    expect(urls.filter((u) => /^(https?:)?\/\//i.test(u))).toEqual([]);
    expect(html).not.toMatch(/<link\b[^>]*rel=["']?stylesheet/i);
    expect(html).not.toMatch(/@import|url\(\s*["']?https?:/i);
  });

  it('escapes </script> and <!-- placed in the scenario description', () => {
    const evil = 'ends here </script><script>window.pwned=1</script> <!-- <script> and more';
    const page = renderReport(fixtureResult({ description: evil }));
    // Every <script> element closes where the page means it to: as many closings as openings,
    // and no script body contains the injected code.
    const openings = page.match(/<script\b/gi)!.length;
    const closings = page.match(/<\/script>/gi)!.length;
    expect(closings).toBe(openings);
    expect(openings).toBe(renderReport(fixtureResult()).match(/<script\b/gi)!.length);
    // The description reaches scripts only as inert, \u-escaped JSON data.
    const scriptTags = [...page.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/gi)];
    for (const [, attrs, body] of scriptTags) {
      expect(body).not.toMatch(/<\/?script|<!--/i);
      if (!attrs!.includes('application/json')) expect(body).not.toContain('window.pwned');
    }
    expect(page).toContain('ends here &lt;/script&gt;&lt;script&gt;window.pwned=1&lt;/script&gt; &lt;!-- &lt;script&gt; and more');
  });

  it('names the scenario, run date, status, network backend and fidelity in the header', () => {
    const header = html.slice(html.indexOf('<header'), html.indexOf('</header>'));
    expect(header).toContain(result.scenario.name);
    expect(header).toContain(String(result.scenario.description));
    expect(header).toContain('2025-01-01 12:00 UTC');
    expect(header).toContain('status-complete');
    expect(header).toContain('userspace backend');
    expect(header).toContain('Emulator fidelity (userspace backend, measured 2025-01-01 11:59 UTC on a test link)');
  });

  it('says plainly when the network was not shaped', () => {
    const loopback: RunResult = {
      ...result,
      environment: { ...result.environment, emulator: { backend: 'none', shaped: false } },
      networks: [{ label: 'lte', spec: { kind: 'none' }, backend: 'none' }],
    };
    const page = renderReport(loopback);
    expect(page).toContain(NOT_SHAPED);
    expect(page).not.toContain('Emulator fidelity (');
  });

  it('has one chart per latency view and repetition strip, with the data embedded', () => {
    const charts = JSON.parse(html.match(/<script type="application\/json" id="bench-charts">([\s\S]*?)<\/script>/)![1]!) as Array<{
      id: string;
      spec: { data?: { values: Array<Record<string, unknown>> }; layer?: unknown[]; transform?: Array<{ calculate: string; as: string }> };
    }>;
    // percentile + CDF + 3 strips for the one (network, workload).
    expect(charts).toHaveLength(5);
    for (const c of charts) expect(html).toContain(`id="${c.id}"`);
    const percentile = charts[0]!.spec.data!.values;
    const protocols = new Set(percentile.map((r) => r.protocolName));
    expect([...protocols]).toEqual(['HTTP/1.1', 'HTTP/2', 'HTTP/3']);
    // The merged histogram holds every request of both repetitions.
    const h2 = percentile.filter((r) => r.protocolName === 'HTTP/2');
    const total = result.cells.filter((c) => c.protocol === 'h2').reduce((n, c) => n + c.metrics.latency!.count, 0);
    // Equal in every row, "samples" travels as a calculate transform rather than in each row.
    const constant = charts[0]!.spec.transform?.find((t) => t.as === 'samples')?.calculate;
    expect(h2[0]!.samples ?? Number(constant)).toBe(total);
    // HdrHistogram keeps 3 significant digits: the merged maximum is the largest cell's, to 0.1%.
    const chartMax = Math.max(...h2.map((r) => r.valueMs as number));
    const cellMax = Math.max(...result.cells.filter((c) => c.protocol === 'h2').map((c) => c.metrics.latency!.max));
    expect(Math.abs(chartMax - cellMax) / cellMax).toBeLessThan(0.001);
  });

  it('shows warnings and the resolved scenario', () => {
    for (const w of result.warnings) expect(html).toContain(w.message);
    expect(html).toContain('Resolved scenario');
    expect(html).toContain('&quot;file&quot;: &quot;scenarios/lte.yaml&quot;');
  });

  it('adds sections registered for a workload type, and only for that type', () => {
    registerWorkloadSection('requests', (_ctx, scope) => `<p id="extra-${scope.workload}">extra for ${scope.protocols.join('+')}</p>`);
    registerWorkloadSection('handshake', () => '<p id="never">never</p>');
    const page = renderReport(result);
    expect(page).toContain('<p id="extra-small-objects">extra for h1+h2+h3</p>');
    expect(page).not.toContain('id="never"');
  });

  it('marks a failed repetition and still reports the others', () => {
    const failed = fixtureResult();
    const cell = failed.cells.find((c) => c.protocol === 'h3' && c.repetition === 1)!;
    cell.error = 'server process exited with code 1';
    const page = renderReport(failed);
    expect(page).toContain('(1 failed)');
    expect(page).toContain('failed: server process exited with code 1');
  });
});

describe('detail views', () => {
  const chartsOf = (html: string) =>
    JSON.parse(html.match(/<script type="application\/json" id="bench-charts">([\s\S]*?)<\/script>/)![1]!) as Array<{
      id: string;
      spec: { data?: { values: Array<Record<string, unknown>> }; transform?: Array<{ calculate: string; as: string }> };
    }>;

  it('plots request latency over time from raw.jsonl, one median repetition per protocol', async () => {
    const { fixtureRun } = await import('./fixture.ts');
    const { result, raw } = fixtureRun({ repetitions: 3, requestsPerCell: 500 });
    const without = renderReport(result);
    const html = renderReport(result, { raw });
    expect(without).not.toContain('Request latency over time');
    expect(html).toContain('Request latency over time');
    const timeline = chartsOf(html).find((c) => c.spec.data?.values.some((r) => 'startMs' in r))!;
    expect(timeline.spec.data!.values).toHaveLength(3 * 500);
    // The repetition shown per protocol has the median p50 of that protocol's repetitions.
    for (const protocol of ['h1', 'h2', 'h3'] as const) {
      const cells = result.cells.filter((c) => c.protocol === protocol).sort((a, b) => a.metrics.latency!.p50 - b.metrics.latency!.p50);
      expect(html).toContain(`${{ h1: 'HTTP/1.1', h2: 'HTTP/2', h3: 'HTTP/3' }[protocol]} repetition ${cells[1]!.repetition + 1} (500 requests)`);
    }
    const latencies = timeline.spec.data!.values.map((r) => r.latencyMs as number);
    const requests = raw.filter((e) => e.type === 'request') as Array<{ queued: number; done: number }>;
    expect(Math.max(...latencies)).toBeLessThanOrEqual(Math.max(...requests.map((e) => e.done - e.queued)) * 1.000001);
  });

  it('compares networks when a workload ran on several, medians with their intervals', () => {
    const result = fixtureResult({ losses: [0, 0.02, 0.05], repetitions: 3, requestsPerCell: 400 });
    const html = renderReport(result);
    expect(html).toContain('across 3 networks');
    const p50Ids = [...html.matchAll(/<div class="chart-title">Latency p50 \(ms\)<\/div><div class="chart-body" id="(chart-\d+)"/g)].map((m) => m[1]);
    const p50 = chartsOf(html).find((c) => c.spec.data?.values.some((r) => 'networkDescription' in r) && p50Ids.includes(c.id))!;
    const rows = p50.spec.data!.values;
    expect(rows).toHaveLength(9);
    for (const row of rows) {
      const protocol = ({ 'HTTP/1.1': 'h1', 'HTTP/2': 'h2', 'HTTP/3': 'h3' } as const)[row.protocolName as 'HTTP/2'];
      const s = result.summaries.find((x) => x.network === row.network && x.protocol === protocol && x.metric === 'latency.p50')!;
      expect(row.median).toBeCloseTo(s.median, 2);
    }
    expect(fixtureResult().networks).toHaveLength(1);
    expect(renderReport(fixtureResult())).not.toContain('Across networks');
  });

  it('moves fields that are the same in every row out of the embedded data', () => {
    const charts = chartsOf(renderReport(fixtureResult()));
    const percentile = charts[0]!;
    expect(percentile.spec.data!.values[0]).not.toHaveProperty('network');
    expect(percentile.spec.transform).toContainEqual({ calculate: '"lte"', as: 'network' });
  });
});

describe('distributions other than latency', () => {
  it('lists every recorded distribution merged across repetitions', () => {
    const result = fixtureResult({ repetitions: 2, requestsPerCell: 300 });
    const html = renderReport(result);
    expect(html).toContain('All recorded distributions (2: latency, ttfb)');
    const row = html.match(/<tr data-distribution="ttfb" data-protocol="h3">([\s\S]*?)<\/tr>/)![1]!;
    const numbers = [...row.matchAll(/<td class="num">([^<]*)<\/td>/g)].map((m) => Number(m[1]!.replace(/,/g, '')));
    const cells = result.cells.filter((c) => c.protocol === 'h3');
    expect(numbers[0]).toBe(cells.reduce((n, c) => n + c.metrics.ttfb!.count, 0));
    expect(numbers[1]).toBe(2);
    // The merged maximum is the largest repetition's maximum (printed to 3 significant digits).
    const max = Math.max(...cells.map((c) => c.metrics.ttfb!.max));
    expect(Math.abs(numbers[6]! - max) / max).toBeLessThan(0.005);
  });

  it('charts the first distribution when a workload records no "latency"', () => {
    const result = fixtureResult({ repetitions: 2, requestsPerCell: 300 });
    for (const c of result.cells) {
      c.metrics = { 'cold.connect': c.metrics.latency!, 'cold.tls': c.metrics.ttfb! };
      c.workloadType = 'handshake';
    }
    const html = renderReport(result);
    expect(html).toContain('cold.connect by percentile');
  });
});
