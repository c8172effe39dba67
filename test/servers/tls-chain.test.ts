/**
 * The scenario's `tls:` chain goes on the wire for every protocol, as independent tools read it:
 * openssl s_client for H1 and H2 (node:tls), tshark decrypting a live loopback capture of a QUIC
 * handshake with the client's key log for H3 (quiche/BoringSSL); and each protocol's client
 * verifies the chain against the root alone.
 */
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServers, type RunningServers } from '../../servers/index.ts';
import { getDriver } from '../../src/drivers/index.ts';
import { quicServerFirstFlightBytes } from '../../src/results/handshake-theory.ts';
import type { Protocol, Target } from '../../src/drivers/types.ts';
import { generateCertificate, type GeneratedCertificate } from '../../src/tls/cert.ts';
import { keylogWritesDone } from '../../src/util/keylog.ts';
import { isRoot, peerMissing, which } from '../support/peers.ts';

const execFileAsync = promisify(execFile);
const INTERMEDIATES = 2;
let cert: GeneratedCertificate;
let other: GeneratedCertificate;
let servers: RunningServers;
const dir = mkdtempSync(join(tmpdir(), 'bench-tls-chain-'));
const caFile = join(dir, 'ca.pem');

beforeAll(async () => {
  [cert, other] = await Promise.all([generateCertificate({ key: 'rsa-2048', intermediates: INTERMEDIATES }), generateCertificate()]);
  writeFileSync(caFile, cert.caPem);
  servers = await startServers({ host: '127.0.0.1', protocols: ['h1', 'h2', 'h3'], cert });
}, 60_000);
afterAll(async () => {
  await servers?.close();
  if (!process.env.KEEP_CAPTURE) rmSync(dir, { recursive: true, force: true });
});

const target = (protocol: Protocol, ca: string): Target => ({ host: '127.0.0.1', port: servers.ports[protocol]!, servername: 'localhost', ca });

async function fetchOnce(protocol: Protocol, ca: string): Promise<number | undefined> {
  const client = await (await getDriver(protocol)).connect(target(protocol, ca));
  try {
    return (await client.request({ path: '/bytes/100' })).status;
  } finally {
    await client.close();
  }
}

describe('the certificate chain the servers present', () => {
  it.each([
    ['h1', 'http/1.1'],
    ['h2', 'h2'],
  ] as const)('%s: openssl s_client receives the leaf and the intermediates and verifies them to the root', async (protocol, alpn) => {
    // Asynchronously: the servers run in this process.
    const run = execFileAsync(
      'openssl',
      ['s_client', '-connect', `127.0.0.1:${servers.ports[protocol]}`, '-servername', 'localhost', '-alpn', alpn, '-CAfile', caFile, '-showcerts', '-verify_return_error'],
      { encoding: 'utf8', timeout: 20_000 },
    );
    run.child.stdin?.end();
    const { stdout: out } = await run;
    const sent = out.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
    expect(sent).toHaveLength(1 + INTERMEDIATES);
    expect(sent.map((pem) => execFileSync('openssl', ['x509', '-outform', 'DER'], { input: pem }).length)).toEqual(cert.chainDerBytes);
    expect(out).toMatch(/^ 0 s:CN = bench localhost$/m);
    expect(out).toMatch(/^ 1 s:CN = bench intermediate CA 2$/m);
    expect(out).toMatch(/^ 2 s:CN = bench intermediate CA 1$/m);
    expect(out).toContain('Verify return code: 0 (ok)');
    expect(out).toContain(`ALPN protocol: ${alpn}`);
  });

  const skipCapture = peerMissing(isRoot() && !!which('tshark') && !!which('dumpcap'), 'root and tshark (apt-get install tshark), to capture on loopback');
  it.skipIf(skipCapture)('h3: tshark, decrypting the captured QUIC handshake with the key log, reads the same certificates', async () => {
    const capture = join(dir, 'h3.pcapng');
    const keys = join(dir, 'keys.log');
    const tshark = await startCapture(capture, 'udp');
    const saved = process.env.SSLKEYLOGFILE;
    process.env.SSLKEYLOGFILE = keys;
    try {
      expect(await fetchOnce('h3', cert.caPem)).toBe(200);
      await keylogWritesDone();
    } finally {
      if (saved === undefined) delete process.env.SSLKEYLOGFILE;
      else process.env.SSLKEYLOGFILE = saved;
      await stopCapture(tshark);
    }
    const lengths = execFileSync(
      'tshark',
      ['-r', capture, '-o', `tls.keylog_file:${keys}`, '-Y', `udp.port == ${servers.ports.h3} && quic && tls.handshake.type == 11`, '-T', 'fields', '-e', 'tls.handshake.certificate_length'],
      { encoding: 'utf8' },
    ).trim();
    expect(lengths.split(',').map(Number)).toEqual(cert.chainDerBytes);
    // The server's first flight (its datagrams between the client's first and second) against the
    // report's estimate of it, which decides whether a chain is said to overflow the amplification limit.
    const datagrams = execFileSync('tshark', ['-r', capture, '-Y', `udp.port == ${servers.ports.h3}`, '-T', 'fields', '-e', 'udp.srcport', '-e', 'udp.length'], { encoding: 'utf8' })
      .trim()
      .split('\n')
      .map((line) => line.split('\t').map(Number) as [number, number]);
    const fromServer = (d: [number, number]) => d[0] === servers.ports.h3;
    const secondFromClient = datagrams.findIndex((d, i) => i > 0 && !fromServer(d));
    const flight = datagrams.slice(1, secondFromClient).filter(fromServer).reduce((sum, d) => sum + d[1] - 8, 0);
    const estimate = quicServerFirstFlightBytes({ key: cert.key, certificateBytes: cert.chainDerBytes });
    expect(Math.abs(estimate - flight) / flight).toBeLessThan(0.1);
  }, 60_000);

  it.each(['h1', 'h2', 'h3'] as const)('%s: the client trusts the root and nothing else', async (protocol) => {
    expect(await fetchOnce(protocol, cert.caPem)).toBe(200);
    await expect(fetchOnce(protocol, other.caPem)).rejects.toThrow(/certificate|CA/);
  });
});

/** dumpcap on loopback, resolved once it captures (it says so a moment before its filter is in place). */
function startCapture(file: string, filter: string): Promise<ChildProcess> {
  const child = spawn('dumpcap', ['-i', 'lo', '-f', filter, '-w', file], { stdio: ['ignore', 'ignore', 'pipe'] });
  return new Promise((resolve, reject) => {
    let err = '';
    child.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
      if (err.includes('Capturing on')) setTimeout(() => resolve(child), 500);
    });
    child.once('exit', (code) => reject(new Error(`dumpcap exited (${code}): ${err}`)));
  });
}

/** Stops dumpcap after a moment, so what the kernel still buffers for it is written. */
async function stopCapture(child: ChildProcess): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, 500));
  await new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGINT');
  });
}
