/**
 * Every setting a user can write takes effect (issue 9): each leaf key of the resolved Scenario
 * (src/scenario/types.ts, down through workload specs, NetworkSpec and timeouts) must reach code
 * that uses it in the measuring layers, and no hand-off on the way may end with nobody reading it.
 * The analysis (./setting-reads.ts) follows values with the TypeScript checker through typed IPC
 * messages, the workload context, driver options, parameters and return values. Before the fix,
 * it reported `timeouts.requestMs` (handed to the client untyped, then to WorkloadContext, which no
 * workload read), `workloads[].sizes.html` and the external `servers` (read by nothing).
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { analyseSettingUses, type SettingUse } from './setting-reads.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** The code that measures: where a setting must take effect (not the scenario layer, the report or the results). */
const CONSUMERS = ['src/runner', 'src/workloads', 'src/drivers', 'src/h3', 'src/quic', 'src/metrics', 'src/util', 'src/commands', 'src/tls', 'src/gate', 'servers', 'netem'];

/** Keys that only describe the run, each with why nothing measures with it. */
const METADATA: Record<string, string> = {
  description: 'text for the report header',
  'networks[].spec.profile': "the profile's values are expanded into the paths when the scenario is resolved; its name labels the network",
  'networks[].sweepValue': "the swept value is already in the network's spec; it places the network on the report's across-networks axis",
  'sweep.key': "names the report's across-networks axis; the values are in each network's spec",
  'sweep.unit': "the unit of the report's across-networks axis",
  'assertions[].bound.unit': "the subject metric's unit, kept so result.json shows the bound as written; the gate takes the unit from the metric catalogue",
  'reference.source': "the study a scenario reproduces, printed in the report beside its claims",
  'reference.claims[].workload': "which workload's figures the report prints beside the claim",
  'reference.claims[].metric': "which metric's figures the report prints beside the claim",
  'reference.claims[].says': 'the claim in words, printed in the report',
};

/** Types whose keys are records written for raw.jsonl and result.json, not read back by the measuring code. */
const OUTPUTS = ['RequestRecord', 'ConnectionRecord', 'DropEvent', 'DirectionCounters'];

const describeUse = (u: SettingUse) => `${u.key} (${u.declared})`;

describe('every setting of a resolved scenario takes effect', () => {
  let uses: SettingUse[];
  beforeAll(() => {
    uses = analyseSettingUses({ root: ROOT, consumers: CONSUMERS, outputs: OUTPUTS });
  }, 120_000);

  it('each key reaches code that uses it', () => {
    const unused = uses.filter((u) => !u.usedAt && !(u.key in METADATA));
    expect(unused.map((u) => [describeUse(u), ...u.deadEnds, ...u.untyped].join('\n    ')), 'settings nothing uses').toEqual([]);
  });

  it('no setting is handed to a key or parameter that nothing reads', () => {
    expect(uses.flatMap((u) => u.deadEnds.map((d) => `${u.key}: ${d}`))).toEqual([]);
  });

  it('no setting passes through an object of no declared type (which no reader could be checked against)', () => {
    expect(uses.flatMap((u) => u.untyped.map((d) => `${u.key}: ${d}`))).toEqual([]);
  });

  it('the metadata list names keys that exist and that nothing measures with', () => {
    const keys = new Set(uses.map((u) => u.key));
    expect(Object.keys(METADATA).filter((k) => !keys.has(k)), 'listed keys the Scenario does not have').toEqual([]);
    expect(uses.filter((u) => u.key in METADATA && u.usedAt).map(describeUse), 'listed keys that are used after all: take them off the list').toEqual([]);
  });
});

describe('the analysis', () => {
  it('finds what a miniature of the layers does wrong, and only that', () => {
    const root = path.join(ROOT, 'test/project/fixtures/unused-setting');
    const byKey = new Map(analyseSettingUses({ root, consumers: ['src/runner', 'src/workloads'] }).map((u) => [u.key, u]));
    expect([...byKey.keys()].sort()).toEqual(['link.lossPercent', 'name', 'retries', 'timeouts.cellMs', 'timeouts.requestMs']);
    expect(byKey.get('timeouts.cellMs')).toMatchObject({ usedAt: 'src/runner/run.ts:8', deadEnds: [], untyped: [] });
    expect(byKey.get('name')?.usedAt).toBe('src/runner/run.ts:13');
    // An object handed on whole carries its keys to the reader of the other type.
    expect(byKey.get('link.lossPercent')).toMatchObject({ usedAt: 'src/runner/link.ts:2', deadEnds: [], untyped: [] });
    // Handed on through a typed message to the workload's context, which nobody reads.
    expect(byKey.get('timeouts.requestMs')).toEqual({
      key: 'timeouts.requestMs',
      declared: 'src/scenario/types.ts:5',
      usedAt: undefined,
      deadEnds: ['src/runner/client.ts:6 -> WorkloadContext.requestTimeoutMs, which nothing reads'],
      untyped: [],
    });
    // Handed on untyped: nothing can say who reads it.
    expect(byKey.get('retries')).toMatchObject({ usedAt: undefined, untyped: ['src/runner/run.ts:11 -> key `retries` of an object of no declared type'] });
  }, 60_000);
});
