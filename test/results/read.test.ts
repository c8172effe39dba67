import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readResult } from '../../src/results/read.ts';
import { UserError } from '../../src/util/errors.ts';
import { fixtureResult } from '../report/fixture.ts';

function write(value: unknown): { dir: string; file: string } {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bench-read-'));
  const file = path.join(dir, 'result.json');
  writeFileSync(file, typeof value === 'string' ? value : JSON.stringify(value));
  return { dir, file };
}

function problem(value: unknown): string {
  const { file } = write(value);
  try {
    readResult(file);
  } catch (error) {
    expect(error).toBeInstanceOf(UserError);
    return (error as Error).message.replace(file, '<file>');
  }
  throw new Error('accepted');
}

describe('readResult', () => {
  it('reads a result from its file or its run directory, unchanged', () => {
    const result = fixtureResult();
    const { dir, file } = write(result);
    expect(readResult(file)).toEqual(result);
    expect(readResult(dir)).toEqual(result);
  });

  it('reads the servers that answered, with or without them (older results lack them)', () => {
    const result = fixtureResult();
    result.servers = { h2: { kind: 'command', name: 'caddy 2.6.2', command: 'caddy run', version: '2.6.2', cpu: 'process-group' } };
    expect(readResult(write(result).file).servers).toEqual(result.servers);
    delete result.servers;
    expect(readResult(write(result).file).servers).toBeUndefined();
    const damaged = { ...result, servers: { h2: { kind: 'mine', name: 'x', cpu: 'process' } } };
    expect(problem(damaged)).toMatch(/^<file>: servers\.h2\.kind: /);
  });

  it('keeps fields it does not know (a newer bench may add some)', () => {
    const result = { ...fixtureResult(), extra: { note: 'x' } };
    expect(readResult(write(result).file)).toMatchObject({ extra: { note: 'x' } });
  });

  it('names the file, the place and the fix for a damaged result', () => {
    const result = fixtureResult();
    const cells = structuredClone(result.cells);
    (cells[3] as { metrics: Record<string, { p99: unknown }> }).metrics.latency!.p99 = 'fast';
    expect(problem({ ...result, cells })).toMatch(/^<file>: cells\[3\]\.metrics\.latency\.p99: .*number.*re-run the scenario/);
    const { summaries: _s, ...noSummaries } = result;
    expect(problem(noSummaries)).toMatch(/^<file>: summaries: .*array/);
    expect(problem({ ...result, cells: [{ ...result.cells[0], protocol: 'h4' }] })).toMatch(/cells\[0\]\.protocol/);
  });

  it('explains a foreign version, a non-result and bad JSON', () => {
    expect(problem({ ...fixtureResult(), schemaVersion: 2 })).toMatch(/schemaVersion 2; this bench reads version 1/);
    expect(problem({ hello: 1 })).toMatch(/not a bench result\.json/);
    expect(problem('{"schemaVersion": 1,')).toMatch(/not valid JSON/);
    expect(() => readResult('/nonexistent/result.json')).toThrow(/no such file/);
    expect(() => readResult(os.tmpdir())).toThrow(/no result\.json here/);
  });
});
