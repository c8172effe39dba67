/**
 * One certificate chain per run: a root CA, 0..3 intermediate CAs and a leaf with SANs for every
 * name and address the client may dial, all of one key type. The same chain serves H1, H2 and H3 so
 * the TLS work (and the size of the server's first flight, which decides whether QUIC's
 * anti-amplification limit costs a round trip) is identical. Servers send the leaf and the
 * intermediates; clients trust the root alone.
 */
import { createHash, webcrypto, X509Certificate as NodeX509 } from 'node:crypto';
import { isIP } from 'node:net';
// @peculiar/x509 resolves its services through tsyringe, which needs the Reflect metadata API.
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { DEFAULT_TLS_KEY, MAX_INTERMEDIATES, TLS_KEY_TYPES, type TlsKeyType } from './key-types.ts';

x509.cryptoProvider.set(webcrypto as never);

export { DEFAULT_TLS_KEY, MAX_INTERMEDIATES, TLS_KEY_TYPES, type TlsKeyType };

export interface CertificateOptions {
  /** Extra DNS names or IP addresses (e.g. the server namespace's address). */
  extraNames?: string[];
  /** Validity in hours from now (default 48: long enough for a long run, short enough to be harmless). */
  validityHours?: number;
  commonName?: string;
  key?: TlsKeyType;
  /** 0 (default): the root signs the leaf. */
  intermediates?: number;
}

export interface GeneratedCertificate {
  /** What a server presents: the leaf, then the intermediates (the leaf's issuer first), PEM. */
  certPem: string;
  /** The leaf's PKCS#8 private key. */
  keyPem: string;
  /** The root CA, PEM: what clients trust (it is never sent). */
  caPem: string;
  /** base64(SHA-256(leaf SubjectPublicKeyInfo)): Chromium's --ignore-certificate-errors-spki-list value. */
  spkiSha256Base64: string;
  /** SHA-256 fingerprint of the DER leaf, colon-separated upper-case hex (as openssl prints it). */
  fingerprint: string;
  /** DNS names and IP addresses in the leaf's subjectAltName. */
  names: string[];
  key: TlsKeyType;
  intermediates: number;
  /** DER size of each certificate the server sends, leaf first. */
  chainDerBytes: number[];
}

const DEFAULT_NAMES = ['localhost', '127.0.0.1', '::1'];

/** Key generation and signature parameters per key type (certificates signed with SHA-256). */
const ALGORITHMS: Record<TlsKeyType, { generate: webcrypto.RsaHashedKeyGenParams | webcrypto.EcKeyGenParams; sign: { name: string; hash: string } }> = {
  'ecdsa-p256': { generate: { name: 'ECDSA', namedCurve: 'P-256' }, sign: { name: 'ECDSA', hash: 'SHA-256' } },
  'rsa-2048': { generate: rsa(2048), sign: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' } },
  'rsa-4096': { generate: rsa(4096), sign: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' } },
};

function rsa(modulusLength: number): webcrypto.RsaHashedKeyGenParams {
  return { name: 'RSASSA-PKCS1-v1_5', modulusLength, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' };
}

export async function generateCertificate(opts: CertificateOptions = {}): Promise<GeneratedCertificate> {
  const keyType = opts.key ?? DEFAULT_TLS_KEY;
  const intermediates = opts.intermediates ?? 0;
  if (!(TLS_KEY_TYPES as readonly string[]).includes(keyType)) throw new RangeError(`unknown key type ${keyType}: use one of ${TLS_KEY_TYPES.join(', ')}`);
  if (!Number.isInteger(intermediates) || intermediates < 0 || intermediates > MAX_INTERMEDIATES) {
    throw new RangeError(`intermediates must be a whole number from 0 to ${MAX_INTERMEDIATES}, got ${intermediates}`);
  }
  const algorithm = ALGORITHMS[keyType];
  const names = [...new Set([...DEFAULT_NAMES, ...(opts.extraNames ?? []).map((n) => n.trim()).filter(Boolean)])];
  // Root, intermediates, leaf: RSA 4096 takes a while per key, so generate them side by side.
  const keys = await Promise.all(
    Array.from({ length: intermediates + 2 }, () => webcrypto.subtle.generateKey(algorithm.generate, true, ['sign', 'verify']) as Promise<webcrypto.CryptoKeyPair>),
  );
  // Backdate a little: clocks in namespaces are the host's, but peers (browsers) may differ slightly.
  const notBefore = new Date(Date.now() - 5 * 60_000);
  const notAfter = new Date(Date.now() + (opts.validityHours ?? 48) * 3_600_000);
  const validity = { notBefore, notAfter, signingAlgorithm: algorithm.sign };

  const rootKeys = keys[0]!;
  const root = await x509.X509CertificateGenerator.createSelfSigned({
    ...validity,
    serialNumber: randomSerial(),
    name: 'CN=bench root CA',
    keys: rootKeys,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(rootKeys.publicKey),
    ],
  });

  let issuer = { cert: root, keys: rootKeys };
  const cas: x509.X509Certificate[] = [];
  for (let i = 1; i <= intermediates; i++) {
    const own = keys[i]!;
    const cert = await x509.X509CertificateGenerator.create({
      ...validity,
      serialNumber: randomSerial(),
      subject: `CN=bench intermediate CA ${i}`,
      issuer: issuer.cert.subject,
      publicKey: own.publicKey,
      signingKey: issuer.keys.privateKey,
      extensions: [
        // Each CA may certify only the CAs still below it.
        new x509.BasicConstraintsExtension(true, intermediates - i, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
        await x509.SubjectKeyIdentifierExtension.create(own.publicKey),
        await x509.AuthorityKeyIdentifierExtension.create(issuer.keys.publicKey),
      ],
    });
    cas.unshift(cert);
    issuer = { cert, keys: own };
  }

  const leafKeys = keys[intermediates + 1]!;
  const leaf = await x509.X509CertificateGenerator.create({
    ...validity,
    serialNumber: randomSerial(),
    subject: `CN=${opts.commonName ?? 'bench localhost'}`,
    issuer: issuer.cert.subject,
    publicKey: leafKeys.publicKey,
    signingKey: issuer.keys.privateKey,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension(
        names.map((value) => ({ type: isIP(value) ? ('ip' as const) : ('dns' as const), value })),
      ),
      await x509.SubjectKeyIdentifierExtension.create(leafKeys.publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(issuer.keys.publicKey),
    ],
  });

  const sent = [leaf, ...cas];
  const pkcs8 = await webcrypto.subtle.exportKey('pkcs8', leafKeys.privateKey);
  const spki = await webcrypto.subtle.exportKey('spki', leafKeys.publicKey);
  const leafPem = pem(leaf);
  return {
    certPem: sent.map(pem).join(''),
    keyPem: x509.PemConverter.encode(pkcs8, 'PRIVATE KEY') + '\n',
    caPem: pem(root),
    spkiSha256Base64: createHash('sha256').update(Buffer.from(spki)).digest('base64'),
    fingerprint: new NodeX509(leafPem).fingerprint256,
    names,
    key: keyType,
    intermediates,
    chainDerBytes: sent.map((c) => c.rawData.byteLength),
  };
}

function pem(cert: x509.X509Certificate): string {
  return cert.toString('pem') + '\n';
}

function randomSerial(): string {
  const bytes = webcrypto.getRandomValues(new Uint8Array(16));
  bytes[0] = bytes[0]! & 0x7f; // positive INTEGER
  return Buffer.from(bytes).toString('hex');
}
