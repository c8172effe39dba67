/**
 * Certificate check for a client given an explicit CA (typically the run's own self-signed
 * certificate). BoringSSL refuses a self-signed leaf without keyCertSign as a trust anchor, while
 * Node's TLS (and so our H1/H2 clients) accepts it; checking here keeps all three protocols
 * equal: the leaf must be signed by (or be) a certificate of the bundle, be valid now, and name
 * the server.
 */
import { X509Certificate } from 'node:crypto';
import { isIP } from 'node:net';
import { splitPem } from './binding.ts';

export function verifyAgainstCa(chainDer: Uint8Array[] | null, caPem: string, servername: string): string | undefined {
  if (!chainDer || chainDer.length === 0) return 'server sent no certificate';
  let leaf: X509Certificate;
  try {
    leaf = new X509Certificate(Buffer.from(chainDer[0]!));
  } catch {
    return 'server certificate is not parseable';
  }
  const now = Date.now();
  if (Date.parse(leaf.validFrom) > now || Date.parse(leaf.validTo) < now) return 'server certificate is expired or not yet valid';
  const nameOk = isIP(servername) ? leaf.checkIP(servername) !== undefined : leaf.checkHost(servername) !== undefined;
  if (!nameOk) return `server certificate does not name ${servername}`;
  const anchors = splitPem(caPem).map((p) => new X509Certificate(p));
  const trusted = anchors.some((ca) => ca.raw.equals(leaf.raw) || (leaf.checkIssued(ca) && leaf.verify(ca.publicKey)));
  return trusted ? undefined : 'server certificate is not signed by the given CA';
}
