import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { UserError } from '../../src/util/errors.ts';
import { writeReport } from '../../src/report/write.ts';
import { fixtureResult } from './fixture.ts';

function runDir(result: unknown, raw?: string): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bench-report-'));
  writeFileSync(path.join(dir, 'result.json'), typeof result === 'string' ? result : JSON.stringify(result));
  if (raw !== undefined) writeFileSync(path.join(dir, 'raw.jsonl'), raw);
  return dir;
}

describe('writeReport', () => {
  it('writes report.html and summary.md from result.json and a truncated raw.jsonl, leaving no temporary files', async () => {
    const result = fixtureResult();
    const event = { type: 'cell-start', t: 1, network: 'lte', protocol: 'h1', workload: 'small-objects', repetition: 0 };
    const dir = runDir(result, JSON.stringify(event) + '\n' + JSON.stringify(event).slice(0, 20));
    const written = await writeReport(dir);
    expect(written.reportPath).toBe(path.join(dir, 'report.html'));
    const html = readFileSync(written.reportPath, 'utf8');
    expect(written.bytes).toBe(Buffer.byteLength(html));
    expect(html).toContain('1 events, last line truncated (run was interrupted) and ignored');
    expect(readFileSync(written.summaryPath, 'utf8')).toContain(`# ${result.scenario.name}`);
    expect(readdirSync(dir).sort()).toEqual(['raw.jsonl', 'report.html', 'result.json', 'summary.md']);
    expect(written.summaryJson.rows.map((r) => r.protocol)).toEqual(['h1', 'h2', 'h3']);
  });

  it('overwrites an earlier report', async () => {
    const dir = runDir(fixtureResult());
    writeFileSync(path.join(dir, 'report.html'), 'old');
    await writeReport(dir);
    expect(readFileSync(path.join(dir, 'report.html'), 'utf8')).toMatch(/^<!doctype html>/);
  });

  it('explains a directory without result.json, unreadable JSON and a foreign schema version', async () => {
    const empty = mkdtempSync(path.join(os.tmpdir(), 'bench-report-'));
    await expect(writeReport(empty)).rejects.toThrow(/no result\.json here.*bench run/);
    await expect(writeReport(empty)).rejects.toBeInstanceOf(UserError);
    await expect(writeReport(runDir('{"schemaVersion": 1, '))).rejects.toThrow(/not valid JSON/);
    await expect(writeReport(runDir({ ...fixtureResult(), schemaVersion: 99 }))).rejects.toThrow(/schemaVersion 99.*reads version 1/);
    expect(existsSync(path.join(empty, 'report.html'))).toBe(false);
  });
});
