import { describe, expect, it } from 'vitest';
import { cellFromResult, validityWarnings } from '../../src/runner/summarise.ts';
import type { RunResult } from '../../src/results/model.ts';
import { CellRecorder } from '../../src/workloads/recorder.ts';

const record = (queued: number, done: number) => ({ id: `r${queued}`, path: '/bytes/1000', queued, sent: queued, firstByte: done - 1, done, bytes: 1000, status: 200 });

describe('CellRecorder', () => {
  it('counts the whole cell as its duration by default', () => {
    const recorder = new CellRecorder({ emit: () => {} });
    recorder.start(100);
    recorder.request(record(100, 150));
    recorder.finish(400);
    expect(recorder.result().durationMs).toBe(300);
  });

  it('counts only the measured spans of a workload that works in rounds', () => {
    const events: unknown[] = [];
    const recorder = new CellRecorder({ emit: (e) => events.push(e) });
    recorder.start(0);
    recorder.request(record(10, 60));
    recorder.span(10, 60);
    // 200 ms of connection set-up and statistics between the rounds are not throughput time.
    recorder.request(record(260, 300));
    recorder.span(260, 300);
    recorder.finish(1000);
    const result = recorder.result();
    expect(result.durationMs).toBe(90);
    expect(result.requests).toEqual({ total: 2, ok: 2, failed: 0, bytes: 2000, failedBy: {} });
    expect(result.metrics.latency!.count).toBe(2);
    expect(events).toHaveLength(2);
  });

  it('counts failed requests by kind: timeouts, HTTP error statuses, other errors', () => {
    const recorder = new CellRecorder({ emit: () => {} });
    recorder.start(0);
    recorder.request(record(0, 10));
    recorder.request({ ...record(0, 400), status: undefined, firstByte: undefined, bytes: 0, timedOut: true, error: 'E_REQUEST_TIMEOUT: no complete response within the request timeout (400 ms)' });
    recorder.request({ ...record(0, 401), status: undefined, firstByte: undefined, bytes: 0, timedOut: true, error: 'E_REQUEST_TIMEOUT: no complete response within the request timeout (400 ms)' });
    recorder.request({ ...record(0, 20), status: 413 });
    recorder.request({ ...record(0, 30), status: undefined, error: 'stream reset (HTTP/2 error code 2)' });
    // Warm-up requests are not counted at all.
    recorder.request({ ...record(0, 400), timedOut: true, error: 'E_REQUEST_TIMEOUT' }, { measured: false, phase: 'warmup' });
    recorder.finish(1000);
    const result = recorder.result();
    expect(result.requests).toMatchObject({ total: 5, ok: 1, failed: 4, failedBy: { timeout: 2, status: 1, error: 1 } });

    // The count reaches result.json's cell and the warning the report shows.
    const cell = cellFromResult({
      planned: { network: 'none', protocol: 'h2', workload: 'w', repetition: 0, order: 0 },
      workloadType: 'requests',
      outcome: { result },
      wallMs: 1000,
    });
    expect(cell.requests.failedBy).toEqual({ timeout: 2, status: 1, error: 1 });
    const warnings = validityWarnings({
      run: { id: 'r', startedAt: '', argv: [], seed: 1, status: 'complete' },
      cells: [cell],
      environment: { emulator: { backend: 'none', shaped: false } },
      networks: [],
      warnings: [],
      scenario: { repetitions: 1 },
    } as unknown as RunResult);
    expect(warnings.find((w) => w.code === 'REQUESTS_FAILED')?.message).toBe('4 of 5 requests failed in repetition 1 (timeout 2, status 1, error 1)');
  });
});
