/**
 * Caddy (Debian's caddy, HTTP/3 by quic-go) as an interop peer on loopback: a generated
 * Caddyfile, our self-signed certificate, a free port, static files. Used by the interop tests
 * and the H3 performance benchmark.
 */
import { execa, type ResultPromise } from 'execa';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { QuicClient } from '../../src/quic/index.ts';
import { freeTcpUdpPort as freePortFor } from '../../src/runner/command-server.ts';

export interface CaddyFiles {
  [name: string]: Uint8Array;
}

export interface RunningCaddy {
  port: number;
  /** Caddy's process id (its CPU time is in /proc/<pid>/stat). */
  pid: number;
  dir: string;
  /** Bytes served per file name (for checksums). */
  files: CaddyFiles;
  version: string;
  stop(): Promise<void>;
}

/** A port free for both TCP and UDP on 127.0.0.1 (Caddy binds both for HTTPS + HTTP/3). */
export const freeTcpUdpPort = (): Promise<number> => freePortFor('127.0.0.1');

export async function caddyVersion(): Promise<string> {
  const r = await execa('caddy', ['version'], { reject: false });
  return r.stdout.trim().split(/\s+/)[0] ?? 'unknown';
}

export async function startCaddy(opts: { certPem: string; keyPem: string; files: CaddyFiles }): Promise<RunningCaddy> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-caddy-'));
  const site = join(dir, 'site');
  writeFileSync(join(dir, 'cert.pem'), opts.certPem);
  writeFileSync(join(dir, 'key.pem'), opts.keyPem, { mode: 0o600 });
  mkdirSync(site);
  for (const [name, bytes] of Object.entries(opts.files)) {
    mkdirSync(dirname(join(site, name)), { recursive: true });
    writeFileSync(join(site, name), bytes);
  }
  const port = await freeTcpUdpPort();
  const caddyfile = [
    '{',
    '  admin off',
    '  auto_https off',
    `  storage file_system ${join(dir, 'data')}`,
    '  servers {',
    '    protocols h1 h2 h3',
    '  }',
    '}',
    `https://127.0.0.1:${port}, https://localhost:${port} {`,
    `  tls ${join(dir, 'cert.pem')} ${join(dir, 'key.pem')}`,
    `  root * ${site}`,
    '  file_server',
    '}',
    '',
  ].join('\n');
  writeFileSync(join(dir, 'Caddyfile'), caddyfile);
  const proc: ResultPromise = execa('caddy', ['run', '--config', join(dir, 'Caddyfile'), '--adapter', 'caddyfile'], {
    reject: false,
    cwd: dir,
    env: { HOME: dir, XDG_DATA_HOME: join(dir, 'data'), XDG_CONFIG_HOME: join(dir, 'config') },
    stdin: 'ignore',
    stdout: 'pipe',
    stderr: 'pipe',
  });
  let log = '';
  proc.stderr?.on('data', (d: Buffer) => (log += d.toString()));
  const stop = async () => {
    proc.kill('SIGTERM');
    const timer = setTimeout(() => proc.kill('SIGKILL'), 3000);
    await proc;
    clearTimeout(timer);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitForQuic(port, opts.certPem, () => proc.exitCode !== null, () => log);
  } catch (e) {
    await stop();
    throw e;
  }
  return { port, pid: proc.pid!, dir, files: opts.files, version: await caddyVersion(), stop };
}

/** Polls until Caddy completes a QUIC handshake with ALPN h3 (its HTTP/3 listener is up). */
async function waitForQuic(port: number, caPem: string, exited: () => boolean, log: () => string): Promise<void> {
  const deadline = Date.now() + 15_000;
  let lastError: unknown;
  while (Date.now() < deadline) {
    if (exited()) throw new Error(`caddy exited before serving:\n${log()}`);
    try {
      const c = await QuicClient.connect({ host: '127.0.0.1', port, servername: 'localhost', alpn: ['h3'], caPem });
      await c.established(1000);
      await c.close();
      return;
    } catch (e) {
      lastError = e;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  throw new Error(`caddy's HTTP/3 listener did not answer on ${port}: ${String(lastError)}\n${log()}`);
}

/** Deterministic content for the interop files. */
export function interopFiles(): CaddyFiles {
  return {
    'small.txt': Buffer.from('hello from caddy over HTTP/3\n'),
    'big.bin': randomBytes(10 * 1024 * 1024),
  };
}
