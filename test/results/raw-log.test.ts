import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { cellKeyJson, RawLog } from '../../src/results/raw-log.ts';
import type { CellKey, WorkloadEvent } from '../../src/results/events.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('RawLog.appendCellEvents', () => {
  it('writes each event with its cell key, as merging the objects would, and appends beside other writers', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'raw-log-'));
    dirs.push(dir);
    const file = path.join(dir, 'raw.jsonl');
    const key: CellKey = { network: 'loss=2% "q"', protocol: 'h2', workload: 'load', repetition: 3 };
    const events = [
      { type: 'request', id: 'r1', start: 1.5, end: 2, status: 200, phase: 'rate100' },
      { type: 'connection', id: 'c1', protocol: 'h2', start: 0.25 },
      { type: 'sample', t: 5, name: 'cwnd', value: { bytes: 14_600 } },
    ] as unknown as WorkloadEvent[];
    const runner = new RawLog(file);
    const client = new RawLog(file);
    runner.append({ type: 'cell-start', t: 0, ...key });
    client.appendCellEvents(events, cellKeyJson(key));
    runner.append({ type: 'cell-end', t: 9, ...key });
    client.close();
    runner.close();
    const lines = readFileSync(file, 'utf8').trimEnd().split('\n');
    expect(lines).toHaveLength(5);
    expect(lines.map((l) => JSON.parse(l))).toEqual([
      { type: 'cell-start', t: 0, ...key },
      ...events.map((e) => ({ ...e, ...key })),
      { type: 'cell-end', t: 9, ...key },
    ]);
    // No line carries a field twice (JSON.parse would hide it: the last one wins).
    for (const line of lines) expect(line.match(/"protocol":/g)).toHaveLength(1);
  });
});
