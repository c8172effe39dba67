/**
 * Teardown of the kernel backend on the exit paths a user meets: SIGINT and SIGTERM to the runner,
 * and its client process killed. Each run is interrupted once its link exists (the namespaces with
 * their veth pair, netem qdiscs and drop-log mirrors): afterwards no namespace, veth, mirror, qdisc
 * or process of the run is left, and the machine's own network is as it was. The three runs go at
 * once: under emulation each one's start costs a minute of CPU.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  eventually,
  hostDevicesWithPrefix,
  namespaceInodes,
  namespacesOfRun,
  ownerRecordOf,
  ownerRecords,
  processesInNamespaces,
  rawLines,
  removeRunLeftovers,
  runProcesses,
  startBench,
  stillAlive,
  withTimeout,
  type BenchRun,
  type ProcInfo,
} from '../e2e/run-harness.ts';
import { benchNamespaces, hostNetworkState, kernelSuiteMissing, sh } from './helpers.ts';

const skip = await kernelSuiteMissing();
/** From the start to the link being up, or the client process existing: the runner's start under emulation. */
const SETUP_MS = 10 * 60_000;
const EXIT_MS = 3 * 60_000;

const SCENARIO = [
  'name: kernel-teardown',
  'protocols: [h1, h2, h3]',
  'repetitions: 3',
  'network:',
  '  backend: kernel',
  '  link:',
  '    delay: 25ms',
  '    loss: 1%',
  '    rate: 20mbit',
  'workloads:',
  '  - type: requests',
  '    name: many',
  '    requests: 1000',
  '    concurrency: 10',
  '    connections: 1',
  '    size: 1KB',
  '    warmup: 0',
  'timeouts:',
  '  request: 60s',
  '  cell: 10m',
  '',
].join('\n');

interface Outcome {
  tag: string;
  code: number;
  stderr: string;
  runId: string;
  /** What existed of the run when it was interrupted. */
  seen: { namespaces: string[]; qdiscs: string; devices: string; inodes: number[]; procs: ProcInfo[] };
}

/** Waits for the run's owner record (it names the run id), then for its link: both namespaces with netem and the mirror. */
async function linkUp(run: BenchRun): Promise<string> {
  const deadline = Date.now() + SETUP_MS;
  while (Date.now() < deadline) {
    const record = ownerRecords().find((o) => o.pid === run.pid);
    if (record) {
      const ns = namespacesOfRun(record.runId);
      if (ns.length === 2 && ns.every((n) => sh(['tc', '-n', n, 'qdisc', 'show']).includes('clsact'))) return record.runId;
    }
    if (run.child.exitCode !== null) throw new Error(`bench exited (${run.child.exitCode}) before its link was up:\n${run.stderr()}`);
    await sleep(200);
  }
  throw new Error(`the link of bench (pid ${run.pid}) was not up within ${SETUP_MS} ms:\n${run.stderr()}`);
}

describe.skipIf(skip)('bench run on the kernel backend: nothing left on any exit path', () => {
  let tmp: string;
  let before: Record<string, string>;
  let devicesBefore: string[];
  const runs: Array<{ run: BenchRun; runId?: string; procs: ProcInfo[] }> = [];
  let outcomes: Outcome[] = [];

  beforeAll(async () => {
    tmp = mkdtempSync(path.join(os.tmpdir(), 'bench-kernel-teardown-'));
    const scenario = path.join(tmp, 'teardown.yaml');
    writeFileSync(scenario, SCENARIO);
    before = hostNetworkState();
    devicesBefore = hostDevicesWithPrefix();

    const interrupt = async (tag: string, act: (run: BenchRun, runId: string) => Promise<void> | void): Promise<Outcome> => {
      const run = startBench(['run', scenario], path.join(tmp, tag));
      const entry: (typeof runs)[number] = { run, procs: [] };
      runs.push(entry);
      const runId = await linkUp(run);
      entry.runId = runId;
      const ns = namespacesOfRun(runId);
      const seen = {
        namespaces: ns,
        qdiscs: ns.map((n) => sh(['tc', '-n', n, 'qdisc', 'show'])).join(''),
        devices: ns.map((n) => sh(['ip', '-n', n, '-o', 'link', 'show'])).join(''),
        inodes: namespaceInodes(runId),
        procs: [] as ProcInfo[],
      };
      await act(run, runId);
      const procs = runProcesses(run.pid);
      seen.procs = [...procs.client, ...procs.server];
      entry.procs = seen.procs;
      const code = await withTimeout(run.exited, EXIT_MS, `bench exit after ${tag}`);
      return { tag, code, stderr: run.stderr(), runId, seen };
    };

    outcomes = await Promise.all([
      interrupt('sigint', (run) => void run.child.kill('SIGINT')),
      interrupt('sigterm', (run) => void run.child.kill('SIGTERM')),
      interrupt('kill-client', async (run) => {
        // The client starts right after the link is up.
        const left = await eventually(() => (runProcesses(run.pid).client.length > 0 ? [] : ['client process']), SETUP_MS);
        expect(left, run.stderr()).toEqual([]);
        process.kill(runProcesses(run.pid).client[0]!.pid, 'SIGKILL');
      }),
    ]);
  }, SETUP_MS + EXIT_MS + 60_000);

  afterAll(async () => {
    for (const { run, runId, procs } of runs) {
      if (run.child.exitCode === null && run.child.signalCode === null) {
        run.child.kill('SIGKILL');
        await run.exited;
      }
      if (runId) removeRunLeftovers(runId, procs);
    }
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  function expectNothingLeft(o: Outcome): void {
    // What the run had made: the link the kernel backend builds.
    expect(o.seen.namespaces).toHaveLength(2);
    expect(o.seen.qdiscs).toContain('netem');
    expect(o.seen.qdiscs).toContain('clsact');
    expect(o.seen.devices).toContain('p0-');
    expect(o.seen.devices).toContain('m0-');
    // ... and none of it is left.
    expect(namespacesOfRun(o.runId), 'namespaces of the run').toEqual([]);
    expect(ownerRecordOf(o.runId), 'owner record of the run').toBe(false);
    expect(stillAlive(o.seen.procs).map((p) => p.argv.join(' ')), 'client or server still running').toEqual([]);
    expect(processesInNamespaces(o.seen.inodes).map((p) => p.argv.join(' ')), 'processes inside the deleted namespaces').toEqual([]);
  }

  function outcome(tag: string): Outcome {
    const o = outcomes.find((x) => x.tag === tag)!;
    console.log(`${tag}: exit ${o.code}; had ${o.seen.namespaces.join(', ')} with ${o.seen.qdiscs.match(/qdisc \w+/g)?.join(', ')}; ${o.stderr.trim().split('\n').at(-1)}`);
    return o;
  }

  it('SIGINT: exit 130, no namespace, veth, mirror, qdisc or process of the run left', () => {
    const o = outcome('sigint');
    expect(o.code, o.stderr).toBe(130);
    expectNothingLeft(o);
  });

  it('SIGTERM: exit 143, nothing left', () => {
    const o = outcome('sigterm');
    expect(o.code, o.stderr).toBe(143);
    expectNothingLeft(o);
  });

  it('the client process killed: exit 3 naming it, nothing left', () => {
    const o = outcome('kill-client');
    expect(o.code, o.stderr).toBe(3);
    expect(o.stderr).toMatch(/client process exited \(SIGKILL\)/);
    expectNothingLeft(o);
    expect(rawLines(path.join(tmp, 'kill-client')).at(-1)?.type).toBe('run-end');
  });

  it("the machine's own network is as it was; no namespace of bench is left", () => {
    expect(benchNamespaces()).toEqual([]);
    expect(hostDevicesWithPrefix().filter((d) => !devicesBefore.includes(d))).toEqual([]);
    expect(hostNetworkState()).toEqual(before);
  });
});
