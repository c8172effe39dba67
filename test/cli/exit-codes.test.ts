/** Exit codes through the CLI's main(): every command takes them from src/util/exit-codes.ts. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { main } from '../../src/cli.ts';
import { EXIT_CODES, exitCodeForSignal } from '../../src/util/exit-codes.ts';

afterEach(() => vi.restoreAllMocks());

function quietly(): string[] {
  const lines: string[] = [];
  vi.spyOn(process.stderr, 'write').mockImplementation((s) => (lines.push(String(s)), true));
  return lines;
}

describe('exit codes', () => {
  it('are distinct, and 1 means regression only', () => {
    const values = Object.values(EXIT_CODES);
    expect(new Set(values).size).toBe(values.length);
    expect(Object.entries(EXIT_CODES).filter(([, v]) => v === 1).map(([k]) => k)).toEqual(['regression']);
    expect(EXIT_CODES.doctorCheckFailed).not.toBe(EXIT_CODES.regression);
  });

  it('follow 128 + the signal number for interruptions', () => {
    expect(exitCodeForSignal('SIGINT')).toBe(128 + os.constants.signals.SIGINT);
    expect(exitCodeForSignal('SIGTERM')).toBe(128 + os.constants.signals.SIGTERM);
    expect(exitCodeForSignal('SIGHUP')).toBe(128 + os.constants.signals.SIGHUP);
  });

  it('is 2 for a user mistake: a missing run directory, a damaged result, an unknown option', async () => {
    const err = quietly();
    expect(await main(['node', 'bench', 'report', '/nonexistent/run'])).toBe(2);
    expect(err.join('')).toMatch(/^error: \/nonexistent\/run: no such file/);
    const dir = mkdtempSync(path.join(os.tmpdir(), 'bench-exit-'));
    writeFileSync(path.join(dir, 'result.json'), '{"schemaVersion": 1}');
    expect(await main(['node', 'bench', 'report', dir])).toBe(2);
    expect(await main(['node', 'bench', 'report', dir, '--no-such-option'])).toBe(2);
    expect(err.join('')).not.toMatch(/\n\s+at /);
  });
});
