/**
 * network.pacing for bench's own TCP servers: with `on`, every accepted connection paces with
 * Linux TCP's own pacer (SO_MAX_PACING_RATE set). Checked from outside the process with `ss`,
 * which prints the socket's maximum pacing rate after its pacing rate only when one is set.
 */
import { execFileSync } from 'node:child_process';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { afterEach, describe, expect, it } from 'vitest';
import { startServers, type RunningServers } from '../../servers/index.ts';
import type { SenderPacing } from '../../netem/model.ts';
import { generateCertificate } from '../../src/tls/cert.ts';

let servers: RunningServers | undefined;
const sockets: TLSSocket[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await servers?.close();
  servers = undefined;
});

/** `ss -tin` lines of the server side of connections to this port. */
function serverSideTcpInfo(port: number): string {
  return execFileSync('ss', ['-tin', 'state', 'established', `( sport = :${port} )`], { encoding: 'utf8' });
}

async function acceptedConnectionInfo(pacing: SenderPacing, protocol: 'h1' | 'h2'): Promise<string> {
  const cert = await generateCertificate();
  servers = await startServers({ host: '127.0.0.1', protocols: ['h1', 'h2'], cert, pacing, maxBodyBytes: 1 << 20 });
  const port = servers.ports[protocol]!;
  const socket = await new Promise<TLSSocket>((resolve, reject) => {
    const s = tlsConnect({ host: '127.0.0.1', port, servername: 'localhost', ca: cert.caPem, ALPNProtocols: [protocol === 'h1' ? 'http/1.1' : 'h2'] });
    s.once('secureConnect', () => resolve(s));
    s.once('error', reject);
  });
  sockets.push(socket);
  return serverSideTcpInfo(port);
}

describe('network.pacing on the built-in TCP servers', () => {
  for (const protocol of ['h1', 'h2'] as const) {
    it(`${protocol}: pacing on sets a maximum pacing rate on the accepted socket`, async () => {
      const info = await acceptedConnectionInfo('on', protocol);
      expect(info).toMatch(/pacing_rate \d+bps/);
      expect(info).toMatch(/pacing_rate \d+bps\/34359738352bps/);
    });
  }

  it('pacing default leaves the socket as the kernel made it', async () => {
    const info = await acceptedConnectionInfo('default', 'h2');
    expect(info).toMatch(/pacing_rate \d+bps/);
    expect(info).not.toMatch(/pacing_rate \d+bps\//);
  });
});
