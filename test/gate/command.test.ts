/** `bench gate` through the CLI's main(): exit codes, the JUnit XML (read back by Python's XML parser) and the Markdown summary. */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { main } from '../../src/cli.ts';
import type { RunResult } from '../../src/results/model.ts';
import { fixtureResult } from '../report/fixture.ts';

afterEach(() => {
  vi.restoreAllMocks();
  vi.unstubAllEnvs();
});

const tmp = mkdtempSync(path.join(os.tmpdir(), 'bench-gate-cmd-'));
function save(name: string, result: RunResult): string {
  const file = path.join(tmp, `${name}.json`);
  writeFileSync(file, JSON.stringify(result));
  return file;
}
function quiet(): string[] {
  const err: string[] = [];
  vi.spyOn(process.stderr, 'write').mockImplementation((s) => (err.push(String(s)), true));
  return err;
}

/** testsuite attributes and failing testcase names, read by an XML parser that is not ours. */
function junitFacts(file: string): { tests: number; failures: number; failed: string[] } {
  const script =
    'import json,sys,xml.etree.ElementTree as ET\n' +
    's=ET.parse(sys.argv[1]).getroot()\n' +
    'print(json.dumps({"tests":int(s.get("tests")),"failures":int(s.get("failures")),"failed":[c.get("name") for c in s.iter("testcase") if c.find("failure") is not None]}))';
  const r = spawnSync('python3', ['-c', script, file], { encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as { tests: number; failures: number; failed: string[] };
}

describe('bench gate', () => {
  const baseline = fixtureResult({ repetitions: 6, requestsPerCell: 300, seed: 21 });
  const slower = structuredClone(baseline);
  for (const c of slower.cells) if (c.protocol === 'h1') c.metrics.latency!.p50 *= 1.5;

  it('exits 1 on a significant regression beyond --max-regression, listing it in JUnit XML and Markdown', async () => {
    const err = quiet();
    const junit = path.join(tmp, 'gate.xml');
    const summary = path.join(tmp, 'gate.md');
    const code = await main(['node', 'bench', 'gate', save('base', baseline), save('slow', slower), '--max-regression', '20%', '--junit', junit, '--summary', summary]);
    expect(code).toBe(1);
    expect(err.join('')).toMatch(/gate FAILED: 1 error-level check\(s\) failed.*\nsignificance: Holm over 6 checks against the baseline, alpha 0\.05 \(/);
    expect(junitFacts(junit)).toEqual({ tests: 9, failures: 1, failed: ['h1.small-objects.latency.p50 <= 1.2 baseline'] });
    const md = readFileSync(summary, 'utf8');
    expect(md).toMatch(/\| \u274c \| error \| fail \(blocking\) \| h1\.small-objects\.latency\.p50 <= 1\.2 baseline \| lte \| <= 1\.2 x baseline \| 1\.500 x \(\+50/);
    expect(md).toContain('\nsignificance: Holm over 6 checks against the baseline, alpha 0.05 (p-values: ');
    expect(readFileSync(junit, 'utf8')).toContain('<property name="significance" value="significance: Holm over 6 checks against the baseline, alpha 0.05 (');
  });

  it('exits 0 for the same run, and appends its summary to GITHUB_STEP_SUMMARY', async () => {
    quiet();
    const step = path.join(tmp, 'step-summary.md');
    writeFileSync(step, '# earlier step\n');
    vi.stubEnv('GITHUB_STEP_SUMMARY', step);
    expect(await main(['node', 'bench', 'gate', save('b1', baseline), save('b2', baseline)])).toBe(0);
    const md = readFileSync(step, 'utf8');
    expect(md.startsWith('# earlier step\n## bench gate')).toBe(true);
    // 300 requests per repetition: too few for a p99 (1,000), so three checks have no verdict.
    expect(md).toContain('gate passed; 6 of 9 checks passed, 0 warning(s), 0 inconclusive (within noise), 3 without a verdict');
  });

  it('refuses a bare fraction for --max-regression and a missing candidate (exit 2)', async () => {
    const err = quiet();
    expect(await main(['node', 'bench', 'gate', save('b3', baseline), save('b4', baseline), '--max-regression', '0.1'])).toBe(2);
    expect(err.join('')).toContain('--max-regression');
    expect(await main(['node', 'bench', 'gate', save('b5', baseline), path.join(tmp, 'missing.json'), '--junit', path.join(tmp, 'none.xml')])).toBe(2);
    expect(existsSync(path.join(tmp, 'none.xml'))).toBe(false);
  });
});
