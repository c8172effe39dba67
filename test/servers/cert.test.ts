import { createHash, createPrivateKey, X509Certificate } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { generateCertificate } from '../../src/tls/cert.ts';

describe('per-run certificate', () => {
  it('is ECDSA P-256, self-signed, short-lived, with the loopback names and extra addresses', async () => {
    const before = Date.now();
    const cert = await generateCertificate({ extraNames: ['10.200.0.1', 'server.bench', 'fd00::1'] });
    const x = new X509Certificate(cert.certPem);
    expect(x.publicKey.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
    expect(x.verify(x.publicKey)).toBe(true);
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

  it('reports the SPKI hash Chromium expects and the DER fingerprint', async () => {
    const cert = await generateCertificate();
    const x = new X509Certificate(cert.certPem);
    const spkiDer = x.publicKey.export({ type: 'spki', format: 'der' });
    expect(cert.spkiSha256Base64).toBe(createHash('sha256').update(spkiDer).digest('base64'));
    expect(cert.fingerprint).toBe(x.fingerprint256);
    const other = await generateCertificate();
    expect(other.spkiSha256Base64).not.toBe(cert.spkiSha256Base64);
  });
});
