/**
 * Packets per round trip (the multiplex workload's slow-start view) against what the standards
 * say a sender starts with: bench's HTTP/2 server sends through Linux TCP, whose initial window is
 * 10 segments (RFC 6928), and its HTTP/3 server through quiche, whose initial window is 10 packets'
 * worth of bytes (RFC 9002 section 7.2); the handshake's acknowledged packets add a few in slow
 * start (up to 20 allowed). Caddy's quic-go (32 packets) is checked in own-server.test.ts.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { RunResult } from '../../src/results/model.ts';
import { isRoot, peerMissing } from '../support/peers.ts';
import { multiplexScenario } from '../perf/bench-runs.ts';
import { runBench, writeScenario } from './run-harness.ts';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'bench-slow-start-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe.skipIf(peerMissing(isRoot(), 'root (the scenario shapes the network)'))('packets per round trip on a link that does not queue', () => {
  it('starts at the initial window (about 10 packets) and grows in slow start', async () => {
    const scenario = writeScenario(
      tmp,
      'slow-start.yaml',
      multiplexScenario({
        name: 'slow-start',
        description: '100 x 10 KB at once behind 50 ms each way, no loss, no rate limit',
        protocols: ['h2', 'h3'],
        repetitions: 1,
        // A round trip long against the machine's scheduling delays, so packets stay in their round trip.
        oneWayDelayMs: 50,
        requests: 100,
        size: '10KB',
        rounds: 2,
      }),
    );
    const out = path.join(tmp, 'out');
    const run = await runBench(['run', scenario, '--quiet'], out, 120_000);
    expect(run.code, run.stderr).toBe(0);
    const result = JSON.parse(readFileSync(path.join(out, 'result.json'), 'utf8')) as RunResult;
    for (const protocol of ['h2', 'h3']) {
      const rounds = result.cells.filter((c) => c.protocol === protocol).flatMap((c) => c.details?.multiplex?.packetsPerRoundTrip ?? []);
      expect(rounds.length, protocol).toBe(2);
      // 100 x 10 KB is 1 MB: at most about 1.4 KB of it per packet, so at least 690 packets, which a
      // window doubling from 10 cannot deliver in fewer than 6 round trips.
      for (const r of rounds) {
        const what = `${protocol}: ${r.join(' ')}`;
        expect(r[0], what).toBeGreaterThanOrEqual(8);
        expect(r[0], what).toBeLessThanOrEqual(20);
        expect(r[1], what).toBeGreaterThanOrEqual(1.5 * r[0]!);
        expect(r.reduce((a, b) => a + b, 0), what).toBeGreaterThanOrEqual(690);
        expect(r.length, what).toBeGreaterThanOrEqual(6);
      }
    }
  }, 130_000);
});
