/**
 * The Chromium command `bench serve` prints works as printed: run through a shell with only the
 * flags a headless machine needs added, Chromium loads the page over HTTP/3 from the served port
 * (the origin is forced onto QUIC, so a failed QUIC handshake fails the load), with the default
 * certificate and with a chain of intermediates (the printed SPKI is the leaf's). Needs Debian's `chromium`.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, ROOT } from '../e2e/run-harness.ts';
import { CHROMIUM_BASE_ARGS } from '../support/browser.ts';
import { CHROMIUM_PATH, peerMissing } from '../support/peers.ts';
import { freeTcpUdpPort } from './caddy.ts';

const skip = peerMissing(!!CHROMIUM_PATH, 'chromium (apt-get install chromium)');

describe.skipIf(skip).each([
  ['one ECDSA certificate', []],
  ['an RSA 2048 chain with two intermediates', ['--tls-key', 'rsa-2048', '--intermediates', '2']],
])('bench serve with %s: the printed chromium command', (_what, tlsArgs) => {
  let serve: ChildProcess;
  let printed = '';
  let profile: string;

  beforeAll(async () => {
    profile = mkdtempSync(path.join(os.tmpdir(), 'bench-serve-chromium-'));
    const port = await freeTcpUdpPort();
    serve = spawn(process.execPath, [BIN, 'serve', '--port', String(port), '--cert-dir', profile, ...tlsArgs], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    serve.stderr!.on('data', (c: Buffer) => (err += c.toString()));
    printed = await new Promise<string>((resolve, reject) => {
      serve.stdout!.on('data', (c: Buffer) => {
        out += c.toString();
        const line = /^chromium\s+(chromium .*)$/m.exec(out)?.[1];
        if (line) resolve(line);
      });
      serve.on('exit', (code) => reject(new Error(`bench serve exited (${code}):\n${out}${err}`)));
    });
  }, 60_000);

  afterAll(async () => {
    if (serve && serve.exitCode === null) {
      const exited = new Promise((resolve) => serve.once('exit', resolve));
      serve.kill('SIGTERM');
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 10_000))]);
      serve.kill('SIGKILL');
    }
    if (profile) rmSync(profile, { recursive: true, force: true });
  });

  it('loads /page/p20 over QUIC when run as printed', async () => {
    expect(printed).toContain('--host-resolver-rules="MAP localhost 127.0.0.1"');
    const headless = [...CHROMIUM_BASE_ARGS, `--user-data-dir=${path.join(profile, 'chromium')}`, '--dump-dom'].join(' ');
    const { stdout, stderr } = await new Promise<{ stdout: string; stderr: string }>((resolve) => {
      execFile('sh', ['-c', `${printed} ${headless}`], { timeout: 60_000, maxBuffer: 8 << 20 }, (_error, stdout, stderr) => resolve({ stdout, stderr }));
    });
    expect(stderr).not.toMatch(/Page load failed/);
    expect(stdout).toContain('<title>bench page</title>');
    expect(stdout.match(/<img src="\/page\/p20\/res\/\d+"/g)).toHaveLength(20);
  }, 90_000);
});
