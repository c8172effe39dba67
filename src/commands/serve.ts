import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PROTOCOLS, type Protocol } from '../drivers/types.ts';
import { generateCertificate, type TlsKeyType } from '../tls/cert.ts';
import { EXIT_CODES } from '../util/exit-codes.ts';
import { h3Available, startServers } from '../../servers/index.ts';

export interface ServeOptions {
  host: string;
  port: number;
  protocols?: Protocol[];
  certDir?: string;
  /** Key type and intermediate CAs of the chain the servers present (as a scenario's `tls:`). */
  tlsKey?: TlsKeyType;
  intermediates?: number;
}

/** Port layout of `bench serve`: h1 on PORT/tcp; h2 on PORT+1/tcp and h3 on PORT+1/udp (as Alt-Svc expects). */
export function servePorts(port: number): Record<Protocol, number> {
  return { h1: port, h2: port + 1, h3: port + 1 };
}

export async function serveCommand(opts: ServeOptions): Promise<number> {
  const protocols = (opts.protocols ?? [...PROTOCOLS]).filter((p) => p !== 'h3' || h3Available());
  const cert = await generateCertificate({ extraNames: [opts.host], key: opts.tlsKey, intermediates: opts.intermediates });
  const dir = opts.certDir ? path.resolve(opts.certDir) : mkdtempSync(path.join(os.tmpdir(), 'bench-serve-'));
  mkdirSync(dir, { recursive: true });
  const certFile = path.join(dir, 'cert.pem');
  const caFile = path.join(dir, 'ca.pem');
  writeFileSync(certFile, cert.certPem);
  writeFileSync(caFile, cert.caPem);
  writeFileSync(path.join(dir, 'key.pem'), cert.keyPem, { mode: 0o600 });
  const servers = await startServers({ host: opts.host, ports: servePorts(opts.port), protocols, cert });
  const out = process.stdout;
  out.write(`bench serve: listening (Ctrl-C to stop)\n`);
  for (const p of protocols) out.write(`  ${p}  ${servers.urls[p]}\n`);
  const chain = `${cert.key}, ${cert.intermediates} intermediate CA${cert.intermediates === 1 ? '' : 's'}, ${cert.chainDerBytes.reduce((a, b) => a + b, 0)} bytes sent`;
  out.write(`certificate  ${certFile} (${chain})\n`);
  out.write(`CA           ${caFile} (trust this one: --cacert)\n`);
  // Chromium matches any certificate of the chain; the leaf's is the one that stays put.
  out.write(`SPKI sha256  ${cert.spkiSha256Base64} (leaf)\n`);
  out.write(`routes       /bytes/<n>  /page/p<N>?size=<bytes>&depth=<d>  /delay/<ms>  /health\n`);
  out.write(`try          curl --cacert ${caFile} ${servers.urls.h1 ?? servers.urls.h2}health\n`);
  if (servers.urls.h3) {
    // Chromium forces QUIC only for a host-name origin (an IP literal fails the handshake). It
    // then resolves localhost to ::1 first and its QUIC writes there are refused: map the name
    // to the address we listen on.
    const h3 = new URL(servers.urls.h3);
    const listenHost = h3.hostname;
    let resolverRule = '';
    if (listenHost === '127.0.0.1' || listenHost === '[::1]') {
      h3.hostname = 'localhost';
      resolverRule = ` --host-resolver-rules="MAP localhost ${listenHost}"`;
    }
    out.write(
      `chromium     chromium --origin-to-force-quic-on=${h3.host} --ignore-certificate-errors-spki-list=${cert.spkiSha256Base64}${resolverRule} ${h3.origin}/page/p20\n`,
    );
  }
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  await servers.close();
  return EXIT_CODES.ok;
}
