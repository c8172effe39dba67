/**
 * The load workload through the binary over the userspace link: the per-step CPU of server and link
 * and the bytes on the wire come from the runner mid-cell (LinkControl.usage), so they are checked
 * here against what the runner measured around the whole cell, an independent sampling of the same
 * counters. Needs root (the network is shaped). Then, on loopback, the same workload on 2 client
 * workers: every request in raw.jsonl once, the workers' CPU in the cell's.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunResult } from '../../src/results/model.ts';
import { isRoot, peerMissing } from '../support/peers.ts';
import { availableProtocols, runBench, writeScenario } from './run-harness.ts';

const skip = peerMissing(isRoot(), 'root (the scenario shapes the network)');
const SIZE = 1000;

describe.skipIf(skip)('load workload end to end over the userspace link', () => {
  let dir: string;
  let run: { code: number; stderr: string };
  let result: RunResult;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'bench-load-'));
    const scenario = writeScenario(
      dir,
      'load.yaml',
      [
        'name: load-e2e',
        'protocols: [h1, h2, h3]',
        'repetitions: 1',
        'network: {backend: userspace, link: {delay: 2ms}}',
        'workloads:',
        `  - {type: load, rates: [50, 100], duration: 1s, size: ${SIZE}}`,
        'timeouts: {request: 10s, cell: 1m}',
      ].join('\n'),
    );
    run = await runBench(['run', scenario], path.join(dir, 'out'), 180_000);
    const file = path.join(dir, 'out', 'result.json');
    if (existsSync(file)) result = JSON.parse(readFileSync(file, 'utf8'));
  }, 240_000);

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('exits 0 and writes the report', () => {
    expect(run.code, run.stderr).toBe(0);
    expect(existsSync(path.join(dir, 'out', 'report.html'))).toBe(true);
  });

  it('per step: server and link CPU and wire bytes within the cell\'s own, and at least the bodies on the wire', () => {
    expect(result.cells).toHaveLength(3);
    for (const cell of result.cells) {
      const steps = cell.details!.load!.steps;
      expect(steps.map((s) => s.level)).toEqual([50, 100]);
      const sum = (pick: (s: (typeof steps)[number]) => number | undefined) => steps.reduce((n, s) => n + pick(s)!, 0);
      for (const s of steps) {
        expect(s.failed).toBe(0);
        expect(s.serverCpuMs).toBeGreaterThan(0);
        expect(s.linkCpuMs).toBeGreaterThan(0);
        // Every response body crossed the link, plus headers and the transports' framing.
        expect(s.wireBytes! / s.ok).toBeGreaterThan(SIZE);
        expect(s.wireBytes! / s.ok).toBeLessThan(3 * SIZE);
      }
      // The runner's cell-wide samples bracket the steps (the cell also holds connection set-up and a warm-up).
      expect(sum((s) => s.serverCpuMs)).toBeLessThanOrEqual(cell.serverCpuMs!);
      const path0 = Object.values(cell.link!)[0]!;
      const cellBytes = path0.up.bytesIn! + path0.down.bytesIn!;
      expect(sum((s) => s.wireBytes)).toBeLessThanOrEqual(cellBytes);
      // The cell's bytes also carry the warm-up's requests: the steps' share of them, at least half of it.
      const requests = readFileSync(path.join(dir, 'out', 'raw.jsonl'), 'utf8')
        .split('\n')
        .filter((l) => l.includes('"type":"request"') && l.includes(`"protocol":"${cell.protocol}"`)).length;
      expect(sum((s) => s.wireBytes)).toBeGreaterThan((0.5 * cellBytes * sum((s) => s.requests)) / requests);
    }
  });
});

describe('load workload end to end on client workers (loopback)', () => {
  let dir: string;
  let run: { code: number; stderr: string };
  let result: RunResult;
  let raw: Array<{ type: string; protocol?: string; phase?: string; id?: string }>;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'bench-load-workers-'));
    const scenario = writeScenario(
      dir,
      'load-workers.yaml',
      [
        'name: load-workers-e2e',
        `protocols: [${availableProtocols().join(', ')}]`,
        'repetitions: 1',
        'network: none',
        'workloads:',
        `  - {type: load, concurrencies: [2, 4], duration: 1s, size: ${SIZE}, connections: 2, h1PoolSize: 2, clientWorkers: 2}`,
        'timeouts: {request: 10s, cell: 1m}',
      ].join('\n'),
    );
    run = await runBench(['run', scenario], path.join(dir, 'out'), 180_000);
    const file = path.join(dir, 'out', 'result.json');
    if (existsSync(file)) result = JSON.parse(readFileSync(file, 'utf8'));
    raw = readFileSync(path.join(dir, 'out', 'raw.jsonl'), 'utf8')
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l));
  }, 240_000);

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('exits 0; every protocol ran on 2 workers, and raw.jsonl holds every measured request once', () => {
    expect(run.code, run.stderr).toBe(0);
    expect(result.cells).toHaveLength(availableProtocols().length);
    for (const cell of result.cells) {
      expect(cell.error).toBeUndefined();
      const d = cell.details!.load!;
      expect(d.clientWorkers).toBe(2);
      const requests = raw.filter((e) => e.type === 'request' && e.protocol === cell.protocol);
      expect(new Set(requests.map((e) => e.id)).size).toBe(requests.length);
      for (const step of d.steps) {
        expect(step.failed).toBe(0);
        expect(requests.filter((e) => e.phase === step.metricPrefix)).toHaveLength(step.requests);
        expect(cell.metrics[`${step.metricPrefix}.latency`]!.count).toBe(step.ok);
      }
      expect(cell.requests.total).toBe(d.steps.reduce((n, s) => n + s.requests, 0));
      // The cell's client CPU holds the workers' (their start-up and warm-up too), so more than the steps'.
      expect(cell.clientCpuMs).toBeGreaterThan(d.steps.reduce((t, s) => t + s.clientCpuMs, 0));
    }
  });
});
