/**
 * The two fields of the TLS 1.3 hellos (RFC 8446 section 4.1) a capture reader needs: the
 * ClientHello's random (what an NSS key log is keyed by) and the cipher suite the ServerHello
 * chose. Pure: handshake bytes (CRYPTO data from offset 0) in.
 */
const CLIENT_HELLO = 1;
const SERVER_HELLO = 2;
const RANDOM_AT = 4 + 2; // message type and length, legacy_version
const RANDOM_BYTES = 32;

/** The client random as hex (as a key log writes it); undefined until the bytes hold it. */
export function clientHelloRandom(handshake: Buffer): string | undefined {
  if (handshake.length < RANDOM_AT + RANDOM_BYTES || handshake[0] !== CLIENT_HELLO) return undefined;
  return handshake.subarray(RANDOM_AT, RANDOM_AT + RANDOM_BYTES).toString('hex');
}

/** The cipher suite the ServerHello chose (0x1301 ...); undefined until the bytes hold it. */
export function serverHelloCipherSuite(handshake: Buffer): number | undefined {
  const sessionIdAt = RANDOM_AT + RANDOM_BYTES;
  if (handshake.length <= sessionIdAt || handshake[0] !== SERVER_HELLO) return undefined;
  const suiteAt = sessionIdAt + 1 + handshake[sessionIdAt]!;
  return handshake.length < suiteAt + 2 ? undefined : handshake.readUInt16BE(suiteAt);
}
