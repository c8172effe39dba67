/** Connection IDs: random, full length, keyed as hex strings for routing maps. */
import { randomBytes } from 'node:crypto';
import { MAX_CONN_ID_LEN } from './binding.ts';

export function newCid(): Uint8Array {
  return randomBytes(MAX_CONN_ID_LEN);
}

export function cidKey(cid: Uint8Array): string {
  return Buffer.from(cid.buffer, cid.byteOffset, cid.byteLength).toString('hex');
}

/** A stateless reset token (RFC 9000 section 10.3) as the 128-bit integer quiche takes. */
export function newResetToken(): bigint {
  return BigInt('0x' + randomBytes(16).toString('hex'));
}
