import { execFileSync } from 'node:child_process';
import { createHash, createPrivateKey, X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { generateCertificate, type TlsKeyType } from '../../src/tls/cert.ts';

const pemBlocks = (pem: string) => pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n/g) ?? [];

describe('per-run certificate', () => {
  it('is an ECDSA P-256 leaf signed by a root CA, short-lived, with the loopback names and extra addresses', async () => {
    const before = Date.now();
    const cert = await generateCertificate({ extraNames: ['10.200.0.1', 'server.bench', 'fd00::1'] });
    expect(pemBlocks(cert.certPem)).toHaveLength(1);
    const x = new X509Certificate(cert.certPem);
    const root = new X509Certificate(cert.caPem);
    expect(x.publicKey.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
    expect(x.checkIssued(root) && x.verify(root.publicKey)).toBe(true);
    expect(root.ca).toBe(true);
    expect(x.checkPrivateKey(createPrivateKey(cert.keyPem))).toBe(true);
    const sans = x.subjectAltName!.split(', ');
    expect(sans).toEqual(
      expect.arrayContaining([
        'DNS:localhost',
        'IP Address:127.0.0.1',
        'IP Address:0:0:0:0:0:0:0:1',
        'IP Address:10.200.0.1',
        'DNS:server.bench',
        'IP Address:FD00:0:0:0:0:0:0:1',
      ]),
    );
    expect(x.checkHost('localhost')).toBe('localhost');
    expect(x.checkIP('10.200.0.1')).toBe('10.200.0.1');
    const validMs = Date.parse(x.validTo) - before;
    expect(validMs).toBeGreaterThan(3_600_000);
    expect(validMs).toBeLessThan(7 * 24 * 3_600_000);
    expect(x.ca).toBe(false);
  });

  it('reports the leaf\'s SPKI hash Chromium expects and the DER fingerprint', async () => {
    const cert = await generateCertificate({ intermediates: 1 });
    const x = new X509Certificate(cert.certPem);
    const spkiDer = x.publicKey.export({ type: 'spki', format: 'der' });
    expect(cert.spkiSha256Base64).toBe(createHash('sha256').update(spkiDer).digest('base64'));
    expect(cert.fingerprint).toBe(x.fingerprint256);
    const other = await generateCertificate();
    expect(other.spkiSha256Base64).not.toBe(cert.spkiSha256Base64);
  });
});

describe('certificate chains, as openssl reads them', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bench-chain-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const openssl = (...args: string[]) => execFileSync('openssl', args, { encoding: 'utf8' });

  it.each<[TlsKeyType, number, string]>([
    ['ecdsa-p256', 0, 'Public-Key: (256 bit)'],
    ['rsa-2048', 3, 'Public-Key: (2048 bit)'],
    ['rsa-4096', 1, 'Public-Key: (4096 bit)'],
  ])('%s with %d intermediates: leaf first, each signed by the next, verified to the root; sizes as sent', async (key, intermediates, keyLine) => {
    const cert = await generateCertificate({ key, intermediates });
    const chainFile = join(dir, `${key}-${intermediates}-chain.pem`);
    const caFile = join(dir, `${key}-${intermediates}-ca.pem`);
    writeFileSync(chainFile, cert.certPem);
    writeFileSync(caFile, cert.caPem);
    const blocks = pemBlocks(cert.certPem);
    expect(blocks).toHaveLength(1 + intermediates);
    expect(cert.intermediates).toBe(intermediates);
    // openssl verify takes the first certificate of the file as the one to check and the rest as untrusted intermediates.
    expect(openssl('verify', '-purpose', 'sslserver', '-CAfile', caFile, '-untrusted', chainFile, chainFile)).toBe(`${chainFile}: OK\n`);
    blocks.forEach((block, i) => {
      const file = join(dir, `${key}-${intermediates}-${i}.pem`);
      writeFileSync(file, block);
      const text = openssl('x509', '-in', file, '-noout', '-text');
      expect(text).toContain(keyLine);
      expect(text).toContain(i === 0 ? 'CA:FALSE' : 'CA:TRUE');
      const der = execFileSync('openssl', ['x509', '-in', file, '-outform', 'DER']);
      expect(cert.chainDerBytes[i]).toBe(der.length);
    });
    // The root is not part of what the server sends.
    expect(cert.certPem).not.toContain(cert.caPem.trim());
  }, 60_000);
});
