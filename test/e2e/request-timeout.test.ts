/**
 * `timeouts.request` takes effect in a real run (`network: none`, no root needed): responses too
 * large to arrive within it fail as timeouts at about that time, on every protocol, and result.json,
 * raw.jsonl and the report say so; the small requests of the same cell still succeed.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunResult } from '../../src/results/model.ts';
import { availableProtocols, rawLines, runBench, writeScenario } from './run-harness.ts';

const TIMEOUT_MS = 20;
/** A loaded 2-core machine: how late after the deadline a timeout may be recorded. */
const LATE_MS = 250;
/** 64 MiB cannot cross loopback TLS in 20 ms (that would take 3 GB/s); 1 KB always can. */
const HUGE = 64 * 2 ** 20;

describe('timeouts.request in a run', () => {
  let tmp: string;
  let run: { code: number; stderr: string };
  let result: RunResult;
  const protocols = availableProtocols();

  beforeAll(async () => {
    tmp = mkdtempSync(path.join(os.tmpdir(), 'bench-request-timeout-'));
    const scenario = writeScenario(
      tmp,
      'timeouts.yaml',
      [
        'name: request-timeouts',
        `protocols: [${protocols.join(', ')}]`,
        'repetitions: 1',
        'network: none',
        'workloads:',
        '  - type: requests',
        '    requests: 6',
        '    concurrency: 2',
        `    sizes: [1KB, ${HUGE}]`,
        'timeouts:',
        `  request: ${TIMEOUT_MS}ms`,
        '  cell: 1m',
        '',
      ].join('\n'),
    );
    run = await runBench(['run', scenario], path.join(tmp, 'out'), 120_000);
    result = JSON.parse(readFileSync(path.join(tmp, 'out', 'result.json'), 'utf8')) as RunResult;
  }, 150_000);

  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it('every large response fails as a timeout, counted per cell; small ones succeed', () => {
    // Failed requests are measurements, not a failed run.
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).not.toMatch(/\n\s+at /);
    expect(result.cells.map((c) => c.protocol).sort()).toEqual([...protocols].sort());
    for (const cell of result.cells) {
      expect(cell.error, cell.protocol).toBeUndefined();
      // Requests 1, 3 and 5 ask for the large body.
      expect(cell.requests.failedBy?.timeout ?? 0, cell.protocol).toBeGreaterThanOrEqual(3);
      expect(cell.requests.failed, cell.protocol).toBe(cell.requests.failedBy?.timeout);
    }
  });

  it('raw.jsonl holds each timed-out request, ended at about the timeout', () => {
    const requests = rawLines(path.join(tmp, 'out')).filter((l) => l.type === 'request' && l.phase !== 'warmup' && l.path === `/bytes/${HUGE}`);
    expect(requests.length).toBe(3 * protocols.length);
    for (const r of requests) {
      expect(r.timedOut, JSON.stringify(r)).toBe(true);
      expect(r.error).toBe(`E_REQUEST_TIMEOUT: no complete response within the request timeout (${TIMEOUT_MS} ms)`);
      const elapsed = (r.done as number) - (r.queued as number);
      expect(elapsed).toBeGreaterThanOrEqual(TIMEOUT_MS);
      expect(elapsed).toBeLessThan(TIMEOUT_MS + LATE_MS);
    }
  });

  it('the warnings, in result.json and the report, name the timeouts', () => {
    const failed = result.warnings.filter((w) => w.code === 'REQUESTS_FAILED');
    expect(failed.map((w) => w.protocol).sort()).toEqual([...protocols].sort());
    for (const w of failed) expect(w.message).toMatch(/requests failed in repetition 1 \(timeout \d+\)$/);
    const html = readFileSync(path.join(tmp, 'out', 'report.html'), 'utf8');
    expect(html).toContain(failed[0]!.message);
  });
});
