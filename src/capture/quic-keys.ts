/**
 * QUIC packet protection keys (RFC 9001 section 5): the Initial secrets anyone can derive from the
 * client's first Destination Connection ID, and the 1-RTT keys from a TLS traffic secret (as an
 * NSS key log carries them), with key updates ("quic ku"). Pure; node:crypto does the ciphers.
 */
import { createCipheriv, createDecipheriv, createHmac } from 'node:crypto';

/** RFC 9001 section 5.2: the salt of QUIC version 1's Initial secrets. */
const INITIAL_SALT_V1 = Buffer.from('38762cf7f55934b34d179ae6a4c80cadccbb7f0a', 'hex');
export const QUIC_VERSION_1 = 0x00000001;

/** The TLS 1.3 cipher suites QUIC uses, by their code in a ServerHello. */
export const CIPHER_SUITES = {
  0x1301: { name: 'TLS_AES_128_GCM_SHA256', hash: 'sha256', aead: 'aes-128-gcm', hp: 'aes-128-ecb', keyBytes: 16 },
  0x1302: { name: 'TLS_AES_256_GCM_SHA384', hash: 'sha384', aead: 'aes-256-gcm', hp: 'aes-256-ecb', keyBytes: 32 },
  0x1303: { name: 'TLS_CHACHA20_POLY1305_SHA256', hash: 'sha256', aead: 'chacha20-poly1305', hp: 'chacha20', keyBytes: 32 },
} as const;
export type CipherSuiteCode = keyof typeof CIPHER_SUITES;
export type CipherSuite = (typeof CIPHER_SUITES)[CipherSuiteCode];

export const AEAD_TAG_BYTES = 16;
const HASH_BYTES = { sha256: 32, sha384: 48 } as const;

export function hkdfExtract(hash: string, salt: Uint8Array, ikm: Uint8Array): Buffer {
  return createHmac(hash, salt).update(ikm).digest();
}

/** RFC 5869 HKDF-Expand: node's hkdf always extracts first, and TLS secrets are already pseudorandom keys. */
export function hkdfExpand(hash: string, prk: Uint8Array, info: Uint8Array, length: number): Buffer {
  const blocks: Buffer[] = [];
  let previous = Buffer.alloc(0);
  for (let i = 1; Buffer.concat(blocks).length < length; i++) {
    previous = createHmac(hash, prk).update(previous).update(info).update(Buffer.of(i)).digest();
    blocks.push(previous);
  }
  return Buffer.concat(blocks).subarray(0, length);
}

/** RFC 8446 section 7.1 HKDF-Expand-Label, with an empty context (all QUIC uses). */
export function hkdfExpandLabel(hash: string, secret: Uint8Array, label: string, length: number): Buffer {
  const full = Buffer.from(`tls13 ${label}`, 'ascii');
  const info = Buffer.concat([Buffer.of(length >> 8, length & 0xff, full.length), full, Buffer.of(0)]);
  return hkdfExpand(hash, secret, info, length);
}

/** One direction's packet protection: AEAD key and IV, header protection key. */
export interface PacketKeys {
  suite: CipherSuite;
  /** The secret the keys came from (the next key phase's secret derives from it). */
  secret: Buffer;
  key: Buffer;
  iv: Buffer;
  hp: Buffer;
}

export function packetKeys(suite: CipherSuite, secret: Buffer): PacketKeys {
  return {
    suite,
    secret,
    key: hkdfExpandLabel(suite.hash, secret, 'quic key', suite.keyBytes),
    iv: hkdfExpandLabel(suite.hash, secret, 'quic iv', 12),
    hp: hkdfExpandLabel(suite.hash, secret, 'quic hp', suite.keyBytes),
  };
}

/** RFC 9001 section 6.1: the keys of the next key phase (the header protection key stays). */
export function nextKeyPhase(keys: PacketKeys): PacketKeys {
  const secret = hkdfExpandLabel(keys.suite.hash, keys.secret, 'quic ku', HASH_BYTES[keys.suite.hash]);
  return { ...packetKeys(keys.suite, secret), hp: keys.hp };
}

/** RFC 9001 section 5.2: both directions' Initial keys, from the client's first Destination Connection ID. */
export function initialKeys(clientDcid: Uint8Array): { client: PacketKeys; server: PacketKeys } {
  const suite = CIPHER_SUITES[0x1301];
  const initial = hkdfExtract(suite.hash, INITIAL_SALT_V1, clientDcid);
  return {
    client: packetKeys(suite, hkdfExpandLabel(suite.hash, initial, 'client in', 32)),
    server: packetKeys(suite, hkdfExpandLabel(suite.hash, initial, 'server in', 32)),
  };
}

/** RFC 9001 section 5.4: the 5-byte mask from a 16-byte sample of the ciphertext. */
export function headerProtectionMask(keys: PacketKeys, sample: Uint8Array): Buffer {
  if (keys.suite.hp === 'chacha20') {
    // The sample is the block counter (4 bytes, little-endian) then the nonce: node's 16-byte ChaCha20 IV, as is.
    const cipher = createCipheriv('chacha20', keys.hp, sample);
    return cipher.update(Buffer.alloc(5));
  }
  const cipher = createCipheriv(keys.suite.hp, keys.hp, null).setAutoPadding(false);
  return cipher.update(sample).subarray(0, 5);
}

/** RFC 9001 section 5.3: opens a payload; undefined when it does not authenticate (wrong keys or packet number). */
export function openPayload(keys: PacketKeys, packetNumber: number, header: Uint8Array, sealed: Uint8Array): Buffer | undefined {
  if (sealed.length < AEAD_TAG_BYTES) return undefined;
  const nonce = Buffer.from(keys.iv);
  // The packet number (at most 62 bits; exact in a double up to 2^53) XORs the IV's last bytes.
  let pn = BigInt(packetNumber);
  for (let i = nonce.length - 1; i >= nonce.length - 8; i--, pn >>= 8n) nonce[i]! ^= Number(pn & 0xffn);
  const decipher = createDecipheriv(keys.suite.aead as 'aes-128-gcm', keys.key, nonce, { authTagLength: AEAD_TAG_BYTES });
  decipher.setAAD(header);
  decipher.setAuthTag(sealed.subarray(sealed.length - AEAD_TAG_BYTES));
  try {
    return Buffer.concat([decipher.update(sealed.subarray(0, sealed.length - AEAD_TAG_BYTES)), decipher.final()]);
  } catch {
    return undefined;
  }
}
