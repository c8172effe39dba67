/**
 * Every view of a result names the server that answered each protocol: the header and the
 * environment table of report.html, the terminal and Markdown summaries and their JSON. A result
 * written before servers were recorded says so instead of guessing.
 */
import { describe, expect, it } from 'vitest';
import { renderReport } from '../../src/report/html.ts';
import { renderSummaryMarkdown, renderSummaryText, summaryJson } from '../../src/report/summary.ts';
import type { RunResult } from '../../src/results/model.ts';
import { fixtureResult } from './fixture.ts';

function withServers(): RunResult {
  const result = fixtureResult({ repetitions: 2 });
  result.servers = {
    h1: { kind: 'command', name: 'nginx version: nginx/1.22.1', command: 'nginx -c {{config}}', version: 'nginx version: nginx/1.22.1', serverHeader: 'nginx/1.22.1', cpu: 'process-group' },
    h2: { kind: 'command', name: 'nginx version: nginx/1.22.1', command: 'nginx -c {{config}}', version: 'nginx version: nginx/1.22.1', serverHeader: 'nginx/1.22.1', cpu: 'process-group' },
    h3: { kind: 'external', name: 'external https://quic.example:443', url: 'https://quic.example:443', serverHeader: 'quic-go <3>', altSvc: 'h3=":443"', cpu: 'unavailable' },
  };
  return result;
}

describe('servers in the report and summaries', () => {
  it('the summaries group protocols answered by the same server and add what the server said', () => {
    const result = withServers();
    const text = renderSummaryText(result).split('\n');
    expect(text[1]).toBe('servers: HTTP/1.1, HTTP/2: nginx version: nginx/1.22.1; HTTP/3: external https://quic.example:443 (Server: quic-go <3>)');
    expect(renderSummaryMarkdown(result)).toContain('Servers: HTTP/1.1, HTTP/2: nginx version: nginx/1.22.1; HTTP/3: external https://quic.example:443 (Server: quic-go <3>).');
    expect(summaryJson(result).servers).toEqual({
      h1: 'nginx version: nginx/1.22.1',
      h2: 'nginx version: nginx/1.22.1',
      h3: 'external https://quic.example:443 (Server: quic-go <3>)',
    });
  });

  it('report.html names them in the header and details them in the environment, escaped', () => {
    const html = renderReport(withServers());
    const header = html.slice(html.indexOf('<header'), html.indexOf('</header>'));
    expect(header).toContain('HTTP/1.1, HTTP/2: <strong>nginx version: nginx/1.22.1</strong><br>HTTP/3: <strong>external https://quic.example:443 (Server: quic-go &lt;3&gt;)</strong>');
    const environment = html.slice(html.indexOf('<section id="environment">'));
    expect(environment).toContain('started from <code>nginx -c {{config}}</code>');
    expect(environment).toContain("server CPU: the command&#39;s process group");
    expect(environment).toContain('external server at https://quic.example:443; Alt-Svc: h3=&quot;:443&quot;; server CPU: not measured');
    expect(html).not.toContain('quic-go <3>');
  });

  it('a result without servers says they were not recorded', () => {
    const result = fixtureResult({ repetitions: 2 });
    delete result.servers;
    expect(renderSummaryText(result).split('\n')[1]).toBe('servers: HTTP/1.1, HTTP/2, HTTP/3: not recorded in this result');
    expect(summaryJson(result).servers).toBeUndefined();
    expect(renderReport(result)).toContain('<th scope="row">Servers</th><td>not recorded in this result</td>');
  });
});
