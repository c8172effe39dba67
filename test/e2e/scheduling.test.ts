/**
 * The scenario's `scheduling`, seen where it matters: the order in which the client finishes the
 * responses of one connection. 50 x 40 KB at once on a 100 ms path (2 MB: slow start spreads it
 * over about ten round trips, so the order is visible). Sequential: responses end one after the
 * other in request order, the first a few round trips in. Round-robin: they take turns (HTTP/2 a
 * 16 KB DATA frame each, HTTP/3 a packet each), so they all end near the end of the transfer.
 * Checked on the client's own completion times (raw.jsonl), not on what the servers were told.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { multiplexDetails } from '../../src/results/details.ts';
import type { RunResult } from '../../src/results/model.ts';
import { isRoot, peerMissing } from '../support/peers.ts';
import { multiplexScenario } from '../perf/bench-runs.ts';
import { runBench, writeScenario } from './run-harness.ts';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'bench-scheduling-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

interface RequestEvent {
  type: string;
  workload: string;
  protocol: string;
  connectionId: string;
  sent: number;
  done: number;
  status?: number;
}

/** Per protocol, the completion times of one connection's responses in the order they were sent (ms after the first send). */
async function completions(scheduling: string): Promise<Record<string, number[]>> {
  const name = `scheduling-${scheduling}`;
  const file = writeScenario(
    tmp,
    `${name}.yaml`,
    multiplexScenario({ name, description: `${scheduling} responses`, protocols: ['h2', 'h3'], repetitions: 1, oneWayDelayMs: 50, requests: 50, size: '40KB', rounds: 1, scheduling }),
  );
  const out = path.join(tmp, name);
  const run = await runBench(['run', file, '--quiet'], out, 120_000);
  expect(run.code, run.stderr).toBe(0);
  const requests = readFileSync(path.join(out, 'raw.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as RequestEvent)
    .filter((e) => e.type === 'request' && e.workload === 'multiplex');
  datingRecorded(out);
  const byProtocol: Record<string, number[]> = {};
  for (const protocol of ['h2', 'h3']) {
    const mine = requests.filter((r) => r.protocol === protocol).sort((a, b) => a.sent - b.sent);
    expect(mine.length, protocol).toBe(50);
    expect(new Set(mine.map((r) => r.connectionId)).size, `${protocol}: one connection`).toBe(1);
    expect(mine.every((r) => r.status === 200), protocol).toBe(true);
    byProtocol[protocol] = mine.map((r) => r.done - mine[0]!.sent);
  }
  return byProtocol;
}

/**
 * Beside the scheduling: the HTTP/3 cell records how quiche dated each side's packets (stats.ts,
 * SendDating). The client (quiche's pacer) gets its small packets mostly backdated; the server,
 * paced by bench's pacer so that quiche's clock dates each packet when it leaves (pacer.ts),
 * seldom: quiche itself is the judge here.
 */
function datingRecorded(out: string): void {
  const result = JSON.parse(readFileSync(path.join(out, 'result.json'), 'utf8')) as RunResult;
  const h3 = result.cells.find((c) => c.protocol === 'h3')!;
  const client = multiplexDetails(h3)!.transportPerConnection.map((t) => t.sendDating!);
  const server = (h3.serverQuic ?? []).map((q) => q.dating!);
  expect(client.length).toBeGreaterThan(0);
  expect(server.length).toBeGreaterThan(0);
  const share = (ds: Array<{ packets: number; backdated: number }>) => ds.reduce((a, d) => a + d.backdated, 0) / ds.reduce((a, d) => a + d.packets, 0);
  expect(client.every((d) => d.packets > 0) && server.every((d) => d.packets > 0)).toBe(true);
  expect(share(client)).toBeGreaterThan(share(server));
  expect(share(server)).toBeLessThan(0.05);
}

const inOrderShare = (done: number[]) => done.slice(1).filter((t, i) => t >= done[i]!).length / (done.length - 1);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;

describe.skipIf(peerMissing(isRoot(), 'root (the scenario shapes the network)'))('server stream scheduling, set alike for HTTP/2 and HTTP/3', () => {
  it('sequential: responses end one after the other, in request order', async () => {
    const done = await completions('sequential');
    for (const [protocol, times] of Object.entries(done)) {
      const what = `${protocol}: ${times.map((t) => t.toFixed(0)).join(' ')}`;
      expect(inOrderShare(times), what).toBeGreaterThanOrEqual(0.95);
      // The first response ends a few round trips in, long before the transfer does.
      expect(times[0]!, what).toBeLessThan(0.6 * Math.max(...times));
    }
  }, 130_000);

  it('round-robin: responses take turns and end together near the end', async () => {
    const done = await completions('round-robin');
    for (const [protocol, times] of Object.entries(done)) {
      const what = `${protocol}: ${times.map((t) => t.toFixed(0)).join(' ')}`;
      expect(median(times), what).toBeGreaterThanOrEqual(0.9 * Math.max(...times));
    }
  }, 130_000);
});
