import { describe, expect, it } from 'vitest';
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
    expect(result.requests).toEqual({ total: 2, ok: 2, failed: 0, bytes: 2000 });
    expect(result.metrics.latency!.count).toBe(2);
    expect(events).toHaveLength(2);
  });
});
