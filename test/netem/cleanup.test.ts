import { afterEach, expect, it } from 'vitest';
import { execa } from 'execa';
import { existsSync } from 'node:fs';
import { cleanupLeftovers, writeOwnerRecord, readOwnerRecords, removeOwnerRecord, findLinkProcesses } from '../../netem/cleanup.ts';
import { LINK_PROCESS_MARKER } from '../../netem/backend.ts';
import { describeRoot, hostNamespaces, sh, uniqueRunId } from './helpers.ts';

// Tests share the machine's real owner records with any live run: they only add and remove their own.
const made: string[] = [];
const records: string[] = [];
afterEach(async () => {
  for (const ns of made.splice(0)) await sh(['ip', 'netns', 'del', ns]);
  for (const r of records.splice(0)) removeOwnerRecord(r);
});

async function addNs(name: string): Promise<void> {
  await execa('ip', ['netns', 'add', name]);
  made.push(name);
}

describeRoot('bench doctor --cleanup', () => {
  it('removes an orphaned namespace with our prefix (and what runs inside), and nothing else', async () => {
    const orphan = uniqueRunId('orphan');
    const orphanNs = `bnch-${orphan}-c`;
    const foreignNs = `other-${orphan}-c`;
    const liveRun = uniqueRunId('live');
    const liveNs = `bnch-${liveRun}-s`;
    await addNs(orphanNs);
    await addNs(foreignNs);
    await addNs(liveNs);
    // A live run: its owner (this process) is alive, so it must be left alone.
    writeOwnerRecord({ runId: liveRun, pid: process.pid, namespaces: [liveNs], createdAt: new Date().toISOString() });
    records.push(liveRun);
    // A dead run's record: pid 0 is never alive.
    writeOwnerRecord({ runId: orphan, pid: 0, namespaces: [orphanNs], createdAt: new Date().toISOString() });
    const sleeper = execa('ip', ['netns', 'exec', orphanNs, 'sleep', '120'], { reject: false });
    await new Promise((r) => setTimeout(r, 200));

    const report = await cleanupLeftovers();

    expect(report.namespaces).toContain(orphanNs);
    expect(report.namespaces).not.toContain(foreignNs);
    expect(report.namespaces).not.toContain(liveNs);
    expect(report.skippedLiveRuns).toContain(liveRun);
    expect(report.ownerRecords).toContain(orphan);
    expect(report.ownerRecords).not.toContain(liveRun);
    const names = await hostNamespaces();
    expect(names).not.toContain(orphanNs);
    expect(names).toContain(foreignNs);
    expect(names).toContain(liveNs);
    expect((await sleeper).exitCode).not.toBe(0);
    const left = readOwnerRecords().map((r) => r.runId);
    expect(left).toContain(liveRun);
    expect(left).not.toContain(orphan);
  });

  it('kills a link process of a dead run, found by its argv marker', async () => {
    const runId = uniqueRunId('link');
    const proc = execa(process.execPath, ['-e', 'setInterval(() => {}, 1000)', '--', `${LINK_PROCESS_MARKER}${runId}`], { reject: false });
    for (let i = 0; i < 100 && !findLinkProcesses().some((p) => p.runId === runId); i++) await new Promise((r) => setTimeout(r, 50));
    expect(findLinkProcesses().map((p) => p.runId)).toContain(runId);
    const report = await cleanupLeftovers();
    expect(report.processes.map((p) => p.pid)).toContain(proc.pid);
    expect((await proc).signal).toBe('SIGTERM');
  });

  it('cleans up after a runner killed with SIGKILL (no teardown could run)', async () => {
    const runId = uniqueRunId('kill');
    const { nodeTsArgv } = await import('../../src/util/node-child.ts');
    const [node, ...args] = nodeTsArgv(new URL('./fixtures/hold-topology.ts', import.meta.url).pathname, [runId, 'wait']);
    const child = execa(node!, args, { reject: false });
    await new Promise<void>((resolve) => child.stdout!.on('data', (d: Buffer) => d.toString().includes('READY') && resolve()));
    child.kill('SIGKILL');
    await child;
    expect((await hostNamespaces()).filter((n) => n.includes(runId)).sort()).toEqual([`bnch-${runId}-c`, `bnch-${runId}-s`]);
    const report = await cleanupLeftovers();
    expect(report.namespaces.filter((n) => n.includes(runId)).sort()).toEqual([`bnch-${runId}-c`, `bnch-${runId}-s`]);
    expect(report.ownerRecords).toContain(runId);
    expect((await hostNamespaces()).filter((n) => n.includes(runId))).toEqual([]);
    expect(existsSync(`/run/bench-netem/bnch-${runId}.json`)).toBe(false);
  });
});

it('the cleanup report says what was removed and what was left alone', async () => {
  const { formatCleanupReport } = await import('../../netem/cleanup.ts');
  expect(formatCleanupReport({ namespaces: [], devices: [], processes: [], ownerRecords: [], skippedLiveRuns: [] })).toBe('  nothing to clean up');
  expect(
    formatCleanupReport({
      namespaces: ['bnch-a-c'],
      devices: ['bnchtun0'],
      processes: [{ pid: 42, argv: ['node', 'link.ts', '--bench-netem-run=a'] }],
      ownerRecords: ['a'],
      skippedLiveRuns: ['b'],
    }).split('\n'),
  ).toEqual([
    '  killed link process 42 (node link.ts --bench-netem-run=a)',
    '  removed namespace bnch-a-c',
    '  removed host device bnchtun0',
    '  removed owner record of run a',
    '  left alone: run b (its runner is still alive)',
  ]);
});
