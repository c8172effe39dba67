/**
 * Stateless retry tokens (RFC 9000 section 8.1.2): the token binds the client's address and its
 * original DCID under an HMAC, and expires. Nothing is stored per client.
 *   token = expiry (8 bytes, ms since epoch) | odcid length (1) | odcid | HMAC-SHA256 (first 16)
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { HostPort } from './binding.ts';

const MAC_LEN = 16;

export class RetryTokens {
  constructor(
    private readonly key: Uint8Array = randomBytes(32),
    private readonly lifetimeMs = 10_000,
    private readonly now: () => number = Date.now,
  ) {}

  mint(peer: HostPort, odcid: Uint8Array): Uint8Array {
    const head = Buffer.alloc(9 + odcid.length);
    head.writeBigUInt64BE(BigInt(Math.floor(this.now() + this.lifetimeMs)), 0);
    head.writeUInt8(odcid.length, 8);
    head.set(odcid, 9);
    return Buffer.concat([head, this.mac(peer, head)]);
  }

  /** The original DCID when the token is ours, unexpired and for this address; else undefined. */
  validate(peer: HostPort, token: Uint8Array): Uint8Array | undefined {
    const t = Buffer.from(token.buffer, token.byteOffset, token.byteLength);
    if (t.length < 9 + MAC_LEN) return undefined;
    const len = t.readUInt8(8);
    if (t.length !== 9 + len + MAC_LEN) return undefined;
    const head = t.subarray(0, 9 + len);
    if (!timingSafeEqual(this.mac(peer, head), t.subarray(9 + len))) return undefined;
    if (Number(t.readBigUInt64BE(0)) < this.now()) return undefined;
    return Uint8Array.from(t.subarray(9, 9 + len));
  }

  private mac(peer: HostPort, head: Uint8Array): Buffer {
    return createHmac('sha256', this.key).update(`${peer.host}|${peer.port}|`).update(head).digest().subarray(0, MAC_LEN);
  }
}
