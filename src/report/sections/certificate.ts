/** The certificate chain a run's servers presented (result.environment.certificate), in words. */
import {
  certificateMessageBytes,
  QUIC_AMPLIFICATION_LIMIT_BYTES,
  quicServerFirstFlightBytes,
} from '../../results/handshake-theory.ts';
import type { CertificateChainInfo } from '../../results/model.ts';
import type { TlsKeyType } from '../../tls/key-types.ts';

const KEY_NAMES: Record<TlsKeyType, string> = { 'ecdsa-p256': 'ECDSA P-256', 'rsa-2048': 'RSA 2048', 'rsa-4096': 'RSA 4096' };

/** The chain in words: "RSA 4096, 3 intermediate CAs: 4 certificates sent, 5,389 bytes". */
export function describeChain(chain: CertificateChainInfo): string {
  const n = chain.intermediates;
  return `${KEY_NAMES[chain.key] ?? chain.key}, ${n === 0 ? 'no intermediate CA' : `${n} intermediate CA${n === 1 ? '' : 's'}`}: ${chain.certificateBytes.length} certificate${chain.certificateBytes.length === 1 ? '' : 's'} sent, ${chain.chainBytes.toLocaleString('en-US')} bytes`;
}

/** The QUIC server's first flight with this chain against the anti-amplification limit. */
export function serverFlight(chain: CertificateChainInfo): { bytes: number; overLimit: boolean; text: string } {
  const bytes = quicServerFirstFlightBytes(chain);
  const overLimit = bytes > QUIC_AMPLIFICATION_LIMIT_BYTES;
  return {
    bytes,
    overLimit,
    text:
      `certificate chain ${describeChain(chain)} (TLS Certificate message ${certificateMessageBytes(chain.certificateBytes).toLocaleString('en-US')} bytes): ` +
      `the QUIC server's first flight is about ${bytes.toLocaleString('en-US')} bytes, ${overLimit ? 'over' : 'under'} the anti-amplification limit of ${QUIC_AMPLIFICATION_LIMIT_BYTES.toLocaleString('en-US')} bytes`,
  };
}
