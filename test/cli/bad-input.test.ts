/**
 * Bad input as a new user meets it, through the real binary: `bench run` on a hostile or impossible
 * scenario exits 2 with one message naming file:line:col and the fix, prints no stack trace, and
 * leaves no run directory behind. No root needed: nothing may start before the scenario is accepted.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHandler, DEFAULT_MAX_BODY_BYTES } from '../../servers/handler.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BIN = path.join(ROOT, 'src/bin.mjs');

/** Ten levels of ten aliases: 10^10 values once expanded (billion laughs). */
function aliasBomb(levels = 10, fanOut = 10): string {
  const lines = [`l0: &l0 [${Array(fanOut).fill('lol').join(', ')}]`];
  for (let i = 1; i < levels; i++) lines.push(`l${i}: &l${i} [${Array(fanOut).fill(`*l${i - 1}`).join(', ')}]`);
  return [...lines, 'network: none', 'workloads: [{type: requests}]', ''].join('\n');
}

describe('bench run on bad input: exit 2, file:line:col, no stack, nothing left', () => {
  let tmp: string;
  beforeAll(() => {
    tmp = mkdtempSync(path.join(os.tmpdir(), 'bench-bad-input-'));
  });
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  function run(name: string, text: string) {
    const file = path.join(tmp, name);
    writeFileSync(file, text);
    const out = path.join(tmp, `${name}.out`);
    const started = Date.now();
    const r = spawnSync(process.execPath, [BIN, 'run', file, '--out', out, '--quiet'], { cwd: ROOT, encoding: 'utf8', timeout: 30_000 });
    return { code: r.status, stderr: r.stderr, file, out, ms: Date.now() - started };
  }

  it('a YAML alias bomb is refused before it is expanded', () => {
    const r = run('bomb.yaml', aliasBomb());
    expect(r.code, r.stderr).toBe(2);
    // The first alias of the deepest level: line 10, column 10 (`l9: &l9 [*l8, ...`).
    expect(r.stderr).toBe(
      `error: ${r.file}:10:10: l9[0]: the alias \`*l8\` stands for 111111111 alias expansions (aliases inside anchors multiply), ` +
        'expected at most 1000 alias expansions in the file. Write the shared values out, or alias only values that hold no aliases themselves.\n',
    );
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(existsSync(r.out), 'run directory').toBe(false);
  });

  it('an alias with no anchor before it names the alias and where it is', () => {
    const r = run('unresolved.yaml', 'network:\n  link: *base\nworkloads: [{type: requests}]\n');
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(new RegExp(`^error: ${r.file.replace(/[.]/g, '\\.')}:2:9: network\\.link: the alias \`\\*base\` has no anchor before it`));
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(existsSync(r.out), 'run directory').toBe(false);
  });

  it('a response size the servers cannot send is refused at its position, naming the limit', () => {
    const r = run('huge.yaml', 'network: none\nworkloads:\n  - type: requests\n    sizes: [1KB, 100GB]\n');
    expect(r.code, r.stderr).toBe(2);
    // The limit is the servers' own constant, not a copy of it.
    expect(r.stderr).toBe(
      `error: ${r.file}:4:18: workloads[0].sizes[1]: 100000000000 bytes is more than the servers send in one response, ` +
        `expected a size up to ${DEFAULT_MAX_BODY_BYTES / 2 ** 30}GiB (${DEFAULT_MAX_BODY_BYTES} bytes, the built-in servers' limit). Use at most ${DEFAULT_MAX_BODY_BYTES / 2 ** 30}GiB per response.\n`,
    );
    expect(existsSync(r.out), 'run directory').toBe(false);
    // The largest accepted size is one the handler really serves.
    const handler = createHandler();
    expect(handler({ method: 'GET', path: `/bytes/${DEFAULT_MAX_BODY_BYTES}`, headers: {} }).status).toBe(200);
    expect(handler({ method: 'GET', path: `/bytes/${DEFAULT_MAX_BODY_BYTES + 1}`, headers: {} }).status).toBe(413);
  });

  it('sharing link settings through a merge key still loads', () => {
    // The limit must not catch ordinary use: one anchor merged into many phases.
    const phases = Array.from({ length: 50 }, (_, i) => `    - {at: ${i + 1}s, link: {<<: *lossy, delay: ${i + 1}ms}}`);
    const text = ['network:', '  link: &lossy {loss: 1%, jitter: 2ms}', '  phases:', ...phases, 'workloads: [{type: requests}]', ''].join('\n');
    const file = path.join(tmp, 'merge.yaml');
    writeFileSync(file, text);
    // --help after the file would not load it; `--network` with an unknown label loads the scenario and then stops with exit 2.
    const r = spawnSync(process.execPath, [BIN, 'run', file, '--network', 'no-such-label'], { cwd: ROOT, encoding: 'utf8', timeout: 30_000 });
    expect(r.stderr).toMatch(/--network: no network variant "no-such-label"/);
  });
});
