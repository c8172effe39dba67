/**
 * What the scenario's `tls:` block may ask for, without the certificate machinery (so the scenario
 * layer and the result reader can name them without loading @peculiar/x509).
 */

/** Key type of every certificate of the chain. */
export type TlsKeyType = 'ecdsa-p256' | 'rsa-2048' | 'rsa-4096';
export const TLS_KEY_TYPES = ['ecdsa-p256', 'rsa-2048', 'rsa-4096'] as const satisfies readonly TlsKeyType[];
export const DEFAULT_TLS_KEY: TlsKeyType = 'ecdsa-p256';
/** Intermediate CAs between root and leaf: 0 (the root signs the leaf) up to this many. */
export const MAX_INTERMEDIATES = 3;
