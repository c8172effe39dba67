/**
 * `bench run` end to end on the kernel backend, one small shaped run per workload type: connection
 * setup on a loss-free 100 ms link, requests on it, and head-of-line blocking at 2% loss with the
 * kernel link's drop and delivery logs. Figures under emulation are the emulated machine's (a TLS
 * handshake costs hundreds of ms of CPU there): the checks are what the link decided (no first byte
 * before the round trips the protocol needs, every drop logged, stalls joined with the log).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Cell, RunResult } from '../../src/results/model.ts';
import type { HandshakeModeDetails } from '../../src/results/details.ts';
import { availableProtocols, rawLines, runBench } from '../e2e/run-harness.ts';
import { benchNamespaces, exportArtifact, hostNetworkState, kernelSuiteMissing, readJson } from './helpers.ts';

const skip = await kernelSuiteMissing();
const RUN_MS = 20 * 60_000;
const PROTOCOLS = availableProtocols();

/** 100 ms RTT; loss-free for connection setup and requests, 2% each way for head-of-line blocking. */
function scenario(name: string, loss: string, workloads: string[]): string {
  return [
    `name: ${name}`,
    `protocols: [${PROTOCOLS.join(', ')}]`,
    'repetitions: 1',
    'seed: 1',
    'network:',
    '  backend: kernel',
    '  link:',
    '    delay: 50ms',
    `    loss: ${loss}`,
    'workloads:',
    ...workloads,
    'timeouts:',
    '  request: 60s',
    '  cell: 10m',
    '',
  ].join('\n');
}

const SETUP_WORKLOADS = [
  '  - type: handshake',
  '    modes: [cold]',
  '    connections: 3',
  '    parallel: 1',
  '    size: 1KB',
  '  - type: requests',
  '    name: small',
  '    requests: 30',
  '    concurrency: 5',
  '    connections: 1',
  '    size: 10KB',
  '    warmup: 0',
];

const HOL_WORKLOADS = ['  - type: multiplex', '    requests: 50', '    sizes: [10KB]', '    rounds: 2', '    reference: false'];

function cellsOf(result: RunResult, workload: string): Cell[] {
  return result.cells.filter((c) => c.workload === workload && !c.error);
}

interface Finished {
  code: number;
  stderr: string;
  dir: string;
  seconds: number;
}

describe.skipIf(skip)('bench run on the kernel backend', () => {
  let tmp: string;
  let before: Record<string, string>;
  const runs: Record<string, Finished> = {};

  async function run(name: string, text: string): Promise<void> {
    const file = path.join(tmp, `${name}.yaml`);
    writeFileSync(file, text);
    const dir = path.join(tmp, name);
    const started = Date.now();
    const { code, stderr } = await runBench(['run', file], dir, RUN_MS);
    runs[name] = { code, stderr, dir, seconds: (Date.now() - started) / 1000 };
    exportArtifact(dir, name);
  }

  // The two runs go at once: under emulation most of a run is its processes starting.
  beforeAll(async () => {
    tmp = mkdtempSync(path.join(os.tmpdir(), 'bench-kernel-runs-'));
    before = hostNetworkState();
    await Promise.all([run('setup', scenario('kernel-setup', '0%', SETUP_WORKLOADS)), run('hol', scenario('kernel-hol', '2%', HOL_WORKLOADS))]);
  }, RUN_MS + 60_000);
  afterAll(() => {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  function finished(name: string): { result: RunResult; dir: string } {
    const r = runs[name]!;
    console.log(`bench run ${name}: exit ${r.code} after ${r.seconds.toFixed(0)} s`);
    expect(r.code, r.stderr).toBe(0);
    const result = readJson<RunResult>(path.join(r.dir, 'result.json'));
    expect(result.run.status).toBe('complete');
    expect(result.networks.map((n) => ({ backend: n.backend, reason: n.backendReason }))).toEqual([{ backend: 'kernel', reason: 'requested: kernel' }]);
    // The fidelity the doctor measured (cached), not a fresh one.
    expect(result.environment.emulator.fidelity?.backend).toBe('kernel');
    return { result, dir: r.dir };
  }

  it('the runs leave nothing behind: their namespaces took the veth pairs, qdiscs and mirrors with them', () => {
    expect(Object.keys(runs).sort()).toEqual(['hol', 'setup']);
    expect(benchNamespaces()).toEqual([]);
    expect(hostNetworkState()).toEqual(before);
  });

  it('connection setup at 100 ms RTT: no protocol has its first byte before the round trips it needs; requests all answered', () => {
    const { result } = finished('setup');
    for (const cell of cellsOf(result, 'handshake')) {
      const cold = cell.details!.handshake!.modes.cold as HandshakeModeDetails;
      const firstByte = cold.phases.firstByte!;
      console.log(
        `handshake ${cell.protocol}: cold first byte ${firstByte.medianMs!.toFixed(0)} ms = ${firstByte.medianRtt!.toFixed(2)} RTT (textbook ${cold.expectedFirstByteRtt} RTT), ` +
          `${cold.connections} connections, median ${cold.medianLinkPackets ?? '?'} packets on the link`,
      );
      expect(cold.failed).toBe(0);
      // netem delays every packet 50 ms each way: the first byte comes after the protocol's round trips at least.
      expect(firstByte.medianMs!).toBeGreaterThanOrEqual(cold.expectedFirstByteRtt! * 100 - 1);
    }
    expect(cellsOf(result, 'handshake').map((c) => c.protocol).sort()).toEqual([...PROTOCOLS].sort());
    for (const cell of cellsOf(result, 'small')) {
      const p50 = cell.metrics.latency?.p50;
      console.log(`requests ${cell.protocol}: ${cell.requests.ok}/${cell.requests.total} answered, latency p50 ${p50?.toFixed(0)} ms`);
      expect(cell.requests.failed).toBe(0);
      expect(cell.requests.ok).toBe(30);
      // Every request crosses the link and back: one RTT at least.
      expect(cell.metrics.latency!.min).toBeGreaterThanOrEqual(100 - 1);
    }
  });

  it('head-of-line blocking at 2% loss: every drop logged (as many as netem counted), stalls joined with the drop and delivery logs', () => {
    const { result, dir } = finished('hol');
    const network = result.networks[0]!;
    expect(network.dropLog).toEqual({ kept: true, detail: expect.stringContaining('mirrored') });
    const raw = rawLines(dir);
    for (const cell of cellsOf(result, 'multiplex')) {
      const drops = raw.filter((l) => l.type === 'drop' && l.protocol === cell.protocol);
      const counted = (cell.link?.primary?.up.dropped ?? 0) + (cell.link?.primary?.down.dropped ?? 0);
      const m = cell.details!.multiplex!;
      const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN);
      console.log(
        `multiplex ${cell.protocol}: ${drops.length} drops logged (up ${drops.filter((d) => d.dir === 'up').length}, down ${drops.filter((d) => d.dir === 'down').length}; netem counted ${counted}), ` +
          `${m.lossEvents} loss events on the workload's connections, streams stalled per loss event ${mean(m.stalledPerLoss).toFixed(2)} ` +
          `(head-of-line blocked ${mean(m.holBlockedPerLoss ?? []).toFixed(2)}, congestion-stalled ${mean(m.congestionStalledPerLoss ?? []).toFixed(2)}), ` +
          `stall time p50 ${cell.metrics.stallTime?.p50?.toFixed(0) ?? '-'} ms, latency p50 ${cell.metrics.latency?.p50?.toFixed(0)} ms p99 ${cell.metrics.latency?.p99?.toFixed(0)} ms`,
      );
      expect(cell.requests.failed).toBe(0);
      // 2% of a few thousand packets: drops happen, and the log has each one netem counted (a
      // packet still in flight when the cell ended is counted by neither or settles later).
      expect(counted).toBeGreaterThan(0);
      expect(Math.abs(drops.length - counted)).toBeLessThanOrEqual(2);
      for (const d of drops) expect(d).toMatchObject({ path: 'primary', reason: 'loss' });
      // The drops on the workload's own connections became loss events, each joined with the streams in flight.
      expect(m.lossEvents).toBeGreaterThan(0);
      expect(m.stalledPerLoss).toHaveLength(m.lossEvents);
      // The delivery log splits every stall into head-of-line blocked and congestion-stalled.
      expect(m.holBlockedPerLoss).toHaveLength(m.lossEvents);
      m.stalledPerLoss.forEach((s, i) => expect(m.holBlockedPerLoss![i]! + m.congestionStalledPerLoss![i]!).toBe(s));
    }
    expect(cellsOf(result, 'multiplex').map((c) => c.protocol).sort()).toEqual([...PROTOCOLS].sort());
    const html = readFileSync(path.join(dir, 'report.html'), 'utf8');
    expect(html).not.toContain('Head-of-line figures are unavailable');
  });
});
