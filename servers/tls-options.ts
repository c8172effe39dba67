/**
 * TLS settings every TCP listener shares, so H1 and H2 differ only in HTTP: TLS 1.3 only, one cipher
 * suite (TLS_AES_128_GCM_SHA256, quiche's default for QUIC too), X25519 first, session tickets on.
 */
import type { TlsOptions } from 'node:tls';

export const TLS_VERSION = 'TLSv1.3';
export const TLS_CIPHER_SUITE = 'TLS_AES_128_GCM_SHA256';
export const TLS_GROUPS = 'X25519:P-256';

export interface ServerCertificate {
  certPem: string;
  keyPem: string;
}

export function serverTlsOptions(cert: ServerCertificate, alpn: string): TlsOptions {
  return {
    cert: cert.certPem,
    key: cert.keyPem,
    minVersion: TLS_VERSION,
    maxVersion: TLS_VERSION,
    ciphers: TLS_CIPHER_SUITE,
    ecdhCurve: TLS_GROUPS,
    ALPNProtocols: [alpn],
    // Node's TLS servers issue TLS 1.3 session tickets by default; keep it explicit.
    sessionTimeout: 3600,
  };
}
