/**
 * The load workload against bench's own HTTP/1.1 server on loopback, one connection (no
 * pipelining), with one request turned into a stall of a known length (the server's /delay/<ms>
 * route): every request behind it on the connection waits. Expected percentiles are worked out
 * here from the stall S and the rate R alone: in an open loop the arrivals due during the stall
 * carry their wait, S - k/R for the k-th, so about (S - x) * R / 1000 samples lie above x ms; in a
 * closed loop of one requester the stall is one slow sample.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServers, type RunningServers } from '../../servers/index.ts';
import { getDriver } from '../../src/drivers/index.ts';
import { DEFAULT_RECEIVE_WINDOWS, type Driver, type Protocol, type RequestSpec } from '../../src/drivers/types.ts';
import type { WorkloadEvent } from '../../src/results/events.ts';
import type { MetricHistogram } from '../../src/metrics/histogram.ts';
import type { Cell } from '../../src/results/model.ts';
import type { LoadDetails } from '../../src/results/details.ts';
import { findKnee, loadCurve } from '../../src/results/load.ts';
import { generateCertificate, type GeneratedCertificate } from '../../src/tls/cert.ts';
import { loadWorkload, type LoadSpec } from '../../src/workloads/load.ts';
import type { WorkloadContext, WorkloadResult } from '../../src/workloads/types.ts';
import { monoMs } from '../../src/util/clock.ts';

let cert: GeneratedCertificate;
let servers: RunningServers;

beforeAll(async () => {
  cert = await generateCertificate();
  servers = await startServers({ host: '127.0.0.1', protocols: ['h1', 'h2', 'h3'], cert });
});
afterAll(() => servers?.close());

const STALL_MS = 1000;
/** The server's timer may fire up to a millisecond early (libuv counts whole milliseconds). */
const TIMER_SLACK_MS = 1;
/** The stalled request: the first one sent this long into the first step (the 51st at 100/s). */
const STALL_AFTER_MS = 500;

/**
 * The real HTTP/1.1 driver, except that the first request sent STALL_AFTER_MS after the first step
 * began (`stepStarted()`: the workload samples the link's usage just before it) asks the server to
 * wait STALL_MS.
 */
async function stallingDriver(): Promise<{ driver: Driver; stepStarted(): void }> {
  const h1 = await getDriver('h1');
  let stepStartedAt: number | undefined;
  let stalled = false;
  const stallNow = () => !stalled && stepStartedAt !== undefined && monoMs() - stepStartedAt >= STALL_AFTER_MS;
  return {
    stepStarted: () => {
      stepStartedAt ??= monoMs();
    },
    driver: {
      ...h1,
      connect: async (target, opts) => {
        const session = await h1.connect(target, opts);
        const request = session.request.bind(session);
        session.request = (spec: RequestSpec) => {
          if (!stallNow()) return request(spec);
          stalled = true;
          return request({ ...spec, path: `/delay/${STALL_MS}` });
        };
        return session;
      },
    },
  };
}

type LoadSettings = { levels: number[]; stepDurationMs?: number } & ({ loop: 'open'; maxInFlight?: number } | { loop: 'closed' });

function context(protocol: Protocol, driver: Driver, spec: LoadSpec, emit: WorkloadContext['emit'] = () => {}, onUsage: () => void = () => {}): WorkloadContext<LoadSpec> {
  return {
    protocol,
    driver,
    target: { host: '127.0.0.1', port: servers.ports[protocol]!, servername: 'localhost', ca: cert.caPem },
    spec,
    repetition: 0,
    baseRttMs: 0,
    clientAddresses: {},
    pathDelays: {},
    requestTimeoutMs: 10_000,
    emit,
    link: {
      applyPhase: async () => 0,
      routeVia: async () => {},
      restore: async () => {},
      drops: async () => [],
      deliveries: async () => undefined,
      counters: async () => ({}),
      usage: async () => {
        onUsage();
        return { counters: {} };
      },
    },
    signal: new AbortController().signal,
  };
}

async function runLoad(settings: LoadSettings): Promise<WorkloadResult> {
  const common = { type: 'load' as const, name: 'load', stepDurationMs: settings.stepDurationMs ?? 3000, connections: 1, h1PoolSize: 1, size: 100, levels: settings.levels, clientWorkers: 1, client: 'library' as const };
  const full: LoadSpec = settings.loop === 'open' ? { ...common, loop: 'open', maxInFlight: settings.maxInFlight ?? 1000 } : { ...common, loop: 'closed' };
  const { driver, stepStarted } = await stallingDriver();
  return loadWorkload.run(context('h1', driver, full, undefined, stepStarted));
}

const details = (r: WorkloadResult): LoadDetails => r.details!.load!;
const histogram = (r: WorkloadResult, name: string): MetricHistogram => r.metrics[`${details(r).steps[0]!.metricPrefix}.${name}`]!;

describe('load workload: coordinated omission', () => {
  it('open loop: the arrivals due during a stall carry their wait in the percentiles', async () => {
    const rate = 100;
    const result = await runLoad({ loop: 'open', levels: [rate] });
    const step = details(result).steps[0]!;
    const latency = histogram(result, 'latency');
    const service = histogram(result, 'service');
    const scheduled = (rate * 3000) / 1000;
    expect(step.arrivals).toMatchObject({ scheduled, dropped: 0 });
    expect(latency.count).toBe(scheduled);
    // Samples above x: (STALL_MS - x) * rate / 1000, so the p-th percentile is where that count is (1 - p) of all.
    const expected = (p: number) => STALL_MS - ((1 - p) * scheduled * 1000) / rate;
    // The wait behind the stall is at least that; the machine can only add: draining the backlog, and
    // a busy client sending late (by at most maxLatenessMs, which the schedule measured).
    const slack = 100 + step.arrivals!.maxLatenessMs;
    const f = (v: number) => v.toFixed(0);
    console.log(
      `open loop, ${rate}/s, ${STALL_MS} ms stall: p90 ${f(latency.p90)} ms (expected ${f(expected(0.9))}), p99 ${f(latency.p99)} (${f(expected(0.99))}), max ${f(latency.max)}; service p99 ${f(service.p99)} ms`,
    );
    expect(latency.p90).toBeGreaterThanOrEqual(expected(0.9) - 5);
    expect(latency.p90).toBeLessThan(expected(0.9) + slack);
    expect(latency.p99).toBeGreaterThanOrEqual(expected(0.99) - 5);
    expect(latency.p99).toBeLessThan(expected(0.99) + slack);
    expect(latency.max).toBeGreaterThanOrEqual(STALL_MS - TIMER_SLACK_MS);
    // From the actual send, only the stalled request itself is slow: one sample, beyond p99.
    expect(service.max).toBeGreaterThanOrEqual(STALL_MS - TIMER_SLACK_MS);
    expect(service.p99).toBeLessThan(STALL_MS / 2);
    // The stall held back the answers, not the schedule: every arrival was sent.
    expect(step.requests).toBe(scheduled);
  });

  it('closed loop: the same stall is one slow sample', async () => {
    const result = await runLoad({ loop: 'closed', levels: [1] });
    const latency = histogram(result, 'latency');
    expect(result.metrics[`${details(result).steps[0]!.metricPrefix}.service`]).toBeUndefined();
    expect(latency.max).toBeGreaterThanOrEqual(STALL_MS - TIMER_SLACK_MS);
    console.log(`closed loop, 1 requester, ${STALL_MS} ms stall: ${latency.count} samples, p90 ${latency.p90.toFixed(0)} ms, p99 ${latency.p99.toFixed(0)} ms, max ${latency.max.toFixed(0)} ms`);
    // One requester waits for the stall instead of sending: nothing else measures it.
    expect(latency.count).toBeGreaterThan(200);
    // Fewer than 1% of the samples above half the stall (the open loop had a sixth of them there).
    expect(latency.p99).toBeLessThan(STALL_MS / 2);
    expect(latency.p90).toBeLessThan(STALL_MS / 5);
  });

  it('open loop: arrivals due while maxInFlight are outstanding are dropped, and counted', async () => {
    const rate = 100;
    const maxInFlight = 20;
    const result = await runLoad({ loop: 'open', levels: [rate], maxInFlight });
    const a = details(result).steps[0]!.arrivals!;
    // During the stall STALL_MS * rate / 1000 arrivals fall due; the first maxInFlight - 1 wait behind the stalled one.
    const expectedDropped = (STALL_MS * rate) / 1000 - (maxInFlight - 1);
    console.log(`open loop, maxInFlight ${maxInFlight}: ${a.dropped} arrivals dropped (expected ${expectedDropped})`);
    expect(a.dropped).toBeGreaterThanOrEqual(expectedDropped - 2);
    // Once the stall ends, each answer frees a place: only a machine too busy to read them drops more.
    expect(a.dropped).toBeLessThanOrEqual(expectedDropped + 5 + a.maxLatenessMs / 10);
    expect(details(result).steps[0]!.requests).toBe(a.scheduled - a.dropped);
  });

  it('a sweep runs one step per level, each with its own distribution, and the curve adds repetitions\' histograms', async () => {
    const result = await runLoad({ loop: 'closed', levels: [1, 2], stepDurationMs: 500 });
    const steps = details(result).steps;
    expect(steps.map((s) => [s.level, s.metricPrefix])).toEqual([
      [1, 'concurrency1'],
      [2, 'concurrency2'],
    ]);
    for (const s of steps) expect(result.metrics[`${s.metricPrefix}.latency`]!.count).toBe(s.ok);
    const cell = { ...result, error: undefined } as unknown as Cell;
    const curve = loadCurve([cell, cell])!;
    expect(curve.points.map((p) => p.latency!.count)).toEqual(steps.map((s) => 2 * s.ok));
    expect(curve.points[1]!.latency!.p99).toBe(result.metrics['concurrency2.latency']!.p99);
  });
});

describe('load workload: client workers', () => {
  /** Runs the workload on `clientWorkers` worker processes (each with the real driver) and keeps what it emitted. */
  async function runWorkers(protocol: Protocol, spec: LoadSpec): Promise<{ result: WorkloadResult; events: WorkloadEvent[] }> {
    const events: WorkloadEvent[] = [];
    const result = await loadWorkload.run(context(protocol, await getDriver(protocol), spec, (e) => events.push(e)));
    return { result, events };
  }

  it.each(['h1', 'h2', 'h3'] as const)('%s closed loop on 2 workers: requesters and connections split, every request counted once, histograms merged', async (protocol) => {
    const spec: LoadSpec = { type: 'load', name: 'load', loop: 'closed', levels: [2, 6], stepDurationMs: 500, connections: 3, h1PoolSize: 2, size: 100, clientWorkers: 2, client: 'lean' };
    const { result, events } = await runWorkers(protocol, spec);
    const d = details(result);
    expect(d.clientWorkers).toBe(2);
    // h1 and h2 run the lean clients in the workers; h3 has one client.
    expect(d.client).toBe(protocol === 'h3' ? undefined : 'lean');
    if (protocol === 'h2') {
      expect(d.flowControl?.receive).toEqual(DEFAULT_RECEIVE_WINDOWS);
      expect(d.flowControl?.send?.streamBytes).toBeGreaterThan(0);
    } else expect(d.flowControl).toBeUndefined();
    const requests = events.filter((e) => e.type === 'request');
    const connections = events.filter((e) => e.type === 'connection');
    // Warm-up: at least one request per HTTP/1.1 pool connection of each worker (3 pools of 2), unmeasured.
    const warmup = spec.connections * spec.h1PoolSize;
    expect(requests.filter((e) => e.phase === 'warmup').length).toBeGreaterThanOrEqual(warmup);
    for (const step of d.steps) {
      const mine = requests.filter((e) => e.phase === step.metricPrefix);
      expect(mine).toHaveLength(step.requests);
      expect(result.metrics[`${step.metricPrefix}.latency`]!.count).toBe(step.ok);
      expect(step.failed).toBe(0);
      expect(step.clientCpuMs).toBeGreaterThan(0);
    }
    expect(result.requests.total).toBe(d.steps.reduce((n, s) => n + s.requests, 0));
    // Every connection recorded once, by the worker that opened it: 3 sessions, h1 pools of 2.
    expect(new Set(connections.map((c) => (c as { id: string }).id)).size).toBe(connections.length);
    expect(result.connections.opened).toBe(protocol === 'h1' ? warmup : spec.connections);
    // The workers' own CPU, start-up included, goes to the cell's client CPU (the client process adds it).
    expect(result.workersCpuMs).toBeGreaterThan(d.steps.reduce((t, s) => t + s.clientCpuMs, 0) / 2);
    expect(result.durationMs).toBeCloseTo(d.steps.reduce((t, s) => t + s.windowMs, 0), 6);
    console.log(`${protocol} on 2 workers: ${d.steps.map((s) => `${s.metricPrefix} ${s.ok} ok, ${s.achievedPerSec.toFixed(0)}/s, client ${(s.clientCpuMs / s.windowMs * 100).toFixed(0)}% of a core`).join('; ')}`);
  });

  it('open loop on 3 workers: one schedule from one start, every arrival sent once, intended times i/rate apart', async () => {
    const rate = 300;
    const spec: LoadSpec = { type: 'load', name: 'load', loop: 'open', levels: [rate], stepDurationMs: 1000, connections: 3, h1PoolSize: 1, size: 100, clientWorkers: 3, client: 'lean', maxInFlight: 30 };
    const { result, events } = await runWorkers('h1', spec);
    const step = details(result).steps[0]!;
    expect(step.arrivals).toMatchObject({ scheduled: rate, dropped: 0 });
    const due = events.flatMap((e) => (e.type === 'request' && e.phase === step.metricPrefix ? [e.dueAt!] : [])).sort((a, b) => a - b);
    expect(due).toHaveLength(rate);
    // Spaced exactly 1/rate apart from the first: no share drifted from the one schedule.
    due.forEach((t, i) => expect(t - due[0]!).toBeCloseTo((i * 1000) / rate, 6));
    expect(result.metrics[`${step.metricPrefix}.latency`]!.count).toBe(step.ok);
    expect(step.ok).toBe(rate);
  });
});

describe('knee', () => {
  const point = (level: number, achievedPerSec: number, p99: number) => ({ level, achievedPerSec, latency: { p99 } });

  it('is the last step before p99 passes 3x the first step or the achieved rate falls under 95% of the offered', () => {
    expect(findKnee('open', [point(100, 100, 2), point(200, 199, 5.9), point(400, 370, 3), point(800, 790, 3)])).toEqual({ knee: 1, broke: true });
    expect(findKnee('open', [point(100, 100, 2), point(200, 199, 6.1)])).toEqual({ knee: 0, broke: true });
    expect(findKnee('open', [point(100, 90, 2), point(200, 199, 2)])).toEqual({ knee: undefined, broke: true });
    // Closed loop: only latency, there is no offered rate to fall short of.
    expect(findKnee('closed', [point(1, 900, 1), point(4, 2000, 2.5), point(16, 2100, 9)])).toEqual({ knee: 1, broke: true });
    expect(findKnee('closed', [point(1, 900, 1), point(4, 2000, 2.5)])).toEqual({ knee: 1, broke: false });
  });
});
