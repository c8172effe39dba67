import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseRawJsonl, readRawLog } from '../../src/results/raw.ts';

const line = (o: unknown) => JSON.stringify(o) + '\n';
const request = (id: string) => ({ type: 'request', id, network: 'lte', protocol: 'h2', workload: 'w', repetition: 0, path: '/bytes/10', queued: 1, done: 5, bytes: 10 });

describe('raw.jsonl reader', () => {
  it('reads every complete event', () => {
    const log = parseRawJsonl(line({ type: 'run-start', t: 0, runId: 'r', scenario: 's' }) + line(request('a')) + line(request('b')));
    expect(log.list.map((e) => e.type)).toEqual(['run-start', 'request', 'request']);
    expect(log.truncatedTail).toBe(false);
    expect(log.skipped).toBe(0);
  });

  it('ignores and reports a truncated last line from a killed run', () => {
    const full = line(request('a')) + line(request('b'));
    const cut = full + JSON.stringify(request('c')).slice(0, 25);
    const log = parseRawJsonl(cut);
    expect(log.events).toBe(2);
    expect(log.truncatedTail).toBe(true);
    expect(log.skipped).toBe(0);
  });

  it('skips and counts unreadable complete lines without losing the rest', () => {
    const log = parseRawJsonl(line(request('a')) + '{not json\n' + line([1, 2]) + line({ no: 'type' }) + line(request('b')));
    expect(log.events).toBe(2);
    expect(log.skipped).toBe(3);
    expect(log.skippedLines).toEqual([2, 3, 4]);
  });

  it('returns undefined when the run directory has no raw.jsonl', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'bench-raw-'));
    expect(readRawLog(path.join(dir, 'raw.jsonl'))).toBeUndefined();
    writeFileSync(path.join(dir, 'raw.jsonl'), line(request('a')));
    expect(readRawLog(path.join(dir, 'raw.jsonl'))?.events).toBe(1);
  });
});
