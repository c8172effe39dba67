/**
 * Certificate check for a client given an explicit CA (the run's root CA, or a server's
 * self-signed certificate). BoringSSL refuses a self-signed leaf without keyCertSign as a trust
 * anchor, while Node's TLS (and so our H1/H2 clients) accepts it; checking here keeps all three
 * protocols equal: the leaf must name the server, and lead through the CAs the server sent
 * (each valid now, a CA, signed by the next) to a certificate of the bundle (or be one).
 */
import { X509Certificate } from 'node:crypto';
import { isIP } from 'node:net';
import { splitPem } from './binding.ts';

/** Longest chain followed: more CAs than any real server sends. */
const MAX_CHAIN_DEPTH = 8;

export function verifyAgainstCa(chainDer: Uint8Array[] | null, caPem: string, servername: string): string | undefined {
  if (!chainDer || chainDer.length === 0) return 'server sent no certificate';
  let chain: X509Certificate[];
  try {
    chain = chainDer.map((der) => new X509Certificate(Buffer.from(der)));
  } catch {
    return 'server certificate chain is not parseable';
  }
  const leaf = chain[0]!;
  const now = Date.now();
  const current = (c: X509Certificate) => Date.parse(c.validFrom) <= now && Date.parse(c.validTo) >= now;
  if (!current(leaf)) return 'server certificate is expired or not yet valid';
  const nameOk = isIP(servername) ? leaf.checkIP(servername) !== undefined : leaf.checkHost(servername) !== undefined;
  if (!nameOk) return `server certificate does not name ${servername}`;

  const anchors = splitPem(caPem).map((p) => new X509Certificate(p));
  const issuedBy = (c: X509Certificate, issuer: X509Certificate) => c.checkIssued(issuer) && c.verify(issuer.publicKey);
  const untrusted = chain.slice(1);
  let cert = leaf;
  for (let depth = 0; depth < MAX_CHAIN_DEPTH; depth++) {
    if (anchors.some((ca) => ca.raw.equals(cert.raw) || issuedBy(cert, ca))) return undefined;
    const next = untrusted.findIndex((ca) => ca.ca && issuedBy(cert, ca));
    if (next < 0) break;
    cert = untrusted.splice(next, 1)[0]!;
    if (!current(cert)) return `intermediate CA "${cert.subject.trim()}" is expired or not yet valid`;
  }
  return chain.length > 1 ? 'server certificate chain does not lead to the given CA' : 'server certificate is not signed by the given CA';
}
