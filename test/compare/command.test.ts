/** `bench compare` through the CLI's main(): files written, differences listed, mistakes refused (exit 2, nothing written). */
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { main } from '../../src/cli.ts';
import type { RunResult } from '../../src/results/model.ts';
import { fixtureResult } from '../report/fixture.ts';

afterEach(() => vi.restoreAllMocks());

function capture(): { out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  vi.spyOn(process.stdout, 'write').mockImplementation((s) => (out.push(String(s)), true));
  vi.spyOn(process.stderr, 'write').mockImplementation((s) => (err.push(String(s)), true));
  return { out, err };
}

function save(dir: string, name: string, result: RunResult): string {
  const file = path.join(dir, `${name}.json`);
  writeFileSync(file, JSON.stringify(result));
  return file;
}

describe('bench compare', () => {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'bench-compare-cmd-'));
  const a = fixtureResult({ repetitions: 5, requestsPerCell: 300, seed: 1 });
  const b = structuredClone(fixtureResult({ repetitions: 5, requestsPerCell: 300, seed: 2 }));
  b.environment.kernel = '6.99.0-other';
  b.tool.dependencies.undici = '0.0.1';

  it('writes compare.html and compare.md, prints the table and every environment difference', async () => {
    const io = capture();
    const out = path.join(tmp, 'ok');
    const code = await main(['node', 'bench', 'compare', save(tmp, 'a', a), save(tmp, 'b', b), '--label', 'main', '--label', 'branch', '--out', out]);
    expect(code, io.err.join('')).toBe(0);
    const text = io.out.join('');
    expect(text).toContain('"branch" against baseline "main"');
    expect(text).toMatch(/HTTP\/2\s+latency p99 \(lower is better\)/);
    expect(text).toContain('kernel: main: ' + a.environment.kernel + ' | branch: 6.99.0-other');
    expect(text).toContain('dependency undici: main: ' + a.tool.dependencies.undici + ' | branch: 0.0.1');
    const md = readFileSync(path.join(out, 'compare.md'), 'utf8');
    expect(md).toContain('| **baseline** main |');
    expect(md).toContain('| kernel | ' + a.environment.kernel + ' | 6.99.0-other |');
    const html = readFileSync(path.join(out, 'compare.html'), 'utf8');
    expect(html).toMatch(/^<!doctype html>/);
    expect(html).toContain('id="bench-compare"');
  });

  it('refuses runs of different scenarios with the reason (exit 2, nothing written), unless --force', async () => {
    const other = structuredClone(a);
    other.scenario = { ...other.scenario, name: 'other-scenario', workloads: [{ type: 'requests', name: 'x' }] };
    const io = capture();
    const out = path.join(tmp, 'refused');
    const args = ['node', 'bench', 'compare', save(tmp, 'a2', a), save(tmp, 'other', other), '--out', out];
    expect(await main(args)).toBe(2);
    expect(io.err.join('')).toMatch(/^error: ".*" and ".*" ran scenarios "[^"]+" and "other-scenario" \(workloads differ\).*--force/);
    expect(existsSync(out)).toBe(false);
    expect(await main([...args, '--force'])).toBe(0);
    expect(readFileSync(path.join(out, 'compare.html'), 'utf8')).toContain('Different scenarios, compared because of --force');
  });

  it('refuses a label count that does not match the runs, and a single run', async () => {
    const io = capture();
    expect(await main(['node', 'bench', 'compare', save(tmp, 'a3', a), save(tmp, 'b3', b), '--label', 'only-one', '--out', path.join(tmp, 'x')])).toBe(2);
    expect(io.err.join('')).toContain('--label given 1 time(s) for 2 runs');
    expect(await main(['node', 'bench', 'compare', save(tmp, 'a4', a), '--out', path.join(tmp, 'y')])).toBe(2);
    expect(existsSync(path.join(tmp, 'x')) || existsSync(path.join(tmp, 'y'))).toBe(false);
  });
});
