import { describe, expect, it } from 'vitest';
import { RetryTokens } from '../../src/quic/retry.ts';
import { verifyAgainstCa } from '../../src/quic/verify.ts';
import { generateCertificate } from '../../src/tls/cert.ts';
import { X509Certificate } from 'node:crypto';

const peer = { host: '192.0.2.1', port: 4433 };
const odcid = Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8]);

describe('stateless retry tokens', () => {
  it('round-trips the original DCID for the same address', () => {
    const t = new RetryTokens();
    expect(Buffer.from(t.validate(peer, t.mint(peer, odcid))!)).toEqual(Buffer.from(odcid));
  });

  it('rejects another address, a tampered token, a truncated token and an expired one', () => {
    let now = 1_000_000;
    const t = new RetryTokens(undefined, 10_000, () => now);
    const token = t.mint(peer, odcid);
    expect(t.validate({ ...peer, port: 4434 }, token)).toBeUndefined();
    const tampered = Uint8Array.from(token);
    tampered[10]! ^= 1;
    expect(t.validate(peer, tampered)).toBeUndefined();
    for (let n = 0; n < token.length; n++) expect(t.validate(peer, token.subarray(0, n))).toBeUndefined();
    now += 10_001;
    expect(t.validate(peer, token)).toBeUndefined();
  });

  it('rejects tokens minted under another key', () => {
    expect(new RetryTokens().validate(peer, new RetryTokens().mint(peer, odcid))).toBeUndefined();
  });
});

describe('certificate check against an explicit CA', () => {
  const derChain = (pem: string) => pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g)!.map((p) => new Uint8Array(new X509Certificate(p).raw));

  it('accepts the root CA or the pinned leaf for the leaf\'s names and refuses others', async () => {
    const a = await generateCertificate();
    const b = await generateCertificate();
    const der = derChain(a.certPem);
    expect(der).toHaveLength(1);
    expect(verifyAgainstCa(der, a.caPem, 'localhost')).toBeUndefined();
    expect(verifyAgainstCa(der, a.certPem, 'localhost')).toBeUndefined();
    expect(verifyAgainstCa(der, a.caPem, '127.0.0.1')).toBeUndefined();
    expect(verifyAgainstCa(der, a.caPem, 'example.com')).toMatch(/does not name/);
    expect(verifyAgainstCa(der, b.caPem, 'localhost')).toMatch(/not signed/);
    expect(verifyAgainstCa(null, a.caPem, 'localhost')).toMatch(/no certificate/);
  });

  it('follows intermediates to the root and refuses a chain with a gap or another root', async () => {
    const a = await generateCertificate({ intermediates: 3 });
    const b = await generateCertificate({ intermediates: 1 });
    const der = derChain(a.certPem);
    expect(der).toHaveLength(4);
    expect(verifyAgainstCa(der, a.caPem, 'localhost')).toBeUndefined();
    // Out of order is still a chain (as TLS 1.3 allows), a missing link is not.
    expect(verifyAgainstCa([der[0]!, der[3]!, der[2]!, der[1]!], a.caPem, 'localhost')).toBeUndefined();
    expect(verifyAgainstCa([der[0]!, der[1]!, der[3]!], a.caPem, 'localhost')).toMatch(/does not lead to the given CA/);
    expect(verifyAgainstCa(der, b.caPem, 'localhost')).toMatch(/does not lead to the given CA/);
    // A leaf in the intermediates' place does not make a CA.
    expect(verifyAgainstCa([der[0]!, derChain(b.certPem)[0]!], b.caPem, 'localhost')).toMatch(/does not lead/);
  });
});
