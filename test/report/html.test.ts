import { describe, expect, it } from 'vitest';
import { chartLibraries } from '../../src/report/assets.ts';
import { renderReport } from '../../src/report/html.ts';
import type { RunResult } from '../../src/report/model.ts';
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
    expect(header).toContain('Emulator fidelity (userspace)');
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
      spec: { data?: { values: Array<Record<string, unknown>> }; layer?: unknown[] };
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
    expect(h2[0]!.samples).toBe(total);
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
