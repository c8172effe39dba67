/**
 * One certificate per run: ECDSA P-256, self-signed, short validity, with SANs for every name and
 * address the client may dial. The same certificate serves H1, H2 and H3 so the TLS work (and the
 * first flight's size, which matters for QUIC's anti-amplification limit) is identical.
 */
import { createHash, webcrypto, X509Certificate as NodeX509 } from 'node:crypto';
import { isIP } from 'node:net';
// @peculiar/x509 resolves its services through tsyringe, which needs the Reflect metadata API.
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as never);

export interface CertificateOptions {
  /** Extra DNS names or IP addresses (e.g. the server namespace's address). */
  extraNames?: string[];
  /** Validity in hours from now (default 48: long enough for a long run, short enough to be harmless). */
  validityHours?: number;
  commonName?: string;
}

export interface GeneratedCertificate {
  certPem: string;
  /** PKCS#8 private key. */
  keyPem: string;
  /** base64(SHA-256(SubjectPublicKeyInfo)): Chromium's --ignore-certificate-errors-spki-list value. */
  spkiSha256Base64: string;
  /** SHA-256 fingerprint of the DER certificate, colon-separated upper-case hex (as openssl prints it). */
  fingerprint: string;
  /** DNS names and IP addresses in the subjectAltName. */
  names: string[];
}

const DEFAULT_NAMES = ['localhost', '127.0.0.1', '::1'];
const ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

export async function generateCertificate(opts: CertificateOptions = {}): Promise<GeneratedCertificate> {
  const names = [...new Set([...DEFAULT_NAMES, ...(opts.extraNames ?? []).map((n) => n.trim()).filter(Boolean)])];
  const keys = (await webcrypto.subtle.generateKey(ALGORITHM, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  // Backdate a little: clocks in namespaces are the host's, but peers (browsers) may differ slightly.
  const notBefore = new Date(Date.now() - 5 * 60_000);
  const notAfter = new Date(Date.now() + (opts.validityHours ?? 48) * 3_600_000);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerial(),
    name: `CN=${opts.commonName ?? 'bench localhost'}`,
    notBefore,
    notAfter,
    signingAlgorithm: ALGORITHM,
    keys,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension(
        names.map((value) => ({ type: isIP(value) ? ('ip' as const) : ('dns' as const), value })),
      ),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  const pkcs8 = await webcrypto.subtle.exportKey('pkcs8', keys.privateKey);
  const spki = await webcrypto.subtle.exportKey('spki', keys.publicKey);
  const certPem = cert.toString('pem') + '\n';
  return {
    certPem,
    keyPem: x509.PemConverter.encode(pkcs8, 'PRIVATE KEY') + '\n',
    spkiSha256Base64: createHash('sha256').update(Buffer.from(spki)).digest('base64'),
    fingerprint: new NodeX509(certPem).fingerprint256,
    names,
  };
}

function randomSerial(): string {
  const bytes = webcrypto.getRandomValues(new Uint8Array(16));
  bytes[0] = bytes[0]! & 0x7f; // positive INTEGER
  return Buffer.from(bytes).toString('hex');
}
