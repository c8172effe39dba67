/** The QUIC packet protection reader against RFC 9001 appendix A's byte vectors, and round trips. */
import { createCipheriv } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { contiguousCrypto, parseFrames, type CryptoFrame } from '../../src/capture/quic-frames.ts';
import { CIPHER_SUITES, hkdfExpandLabel, initialKeys, nextKeyPhase, packetKeys, headerProtectionMask, AEAD_TAG_BYTES, type PacketKeys } from '../../src/capture/quic-keys.ts';
import { OneRttReader } from '../../src/capture/quic-connections.ts';
import { decodePacketNumber, openPacket, splitDatagram } from '../../src/capture/quic-packet.ts';
import { clientHelloRandom, serverHelloCipherSuite } from '../../src/capture/tls-hello.ts';
import { writeVarint } from '../../src/h3/varint.ts';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');

/** RFC 9001 A.2: the client's first Initial (1200 bytes, padded). */
const CLIENT_INITIAL = hex(
  'c000000001088394c8f03e5157080000449e7b9aec34d1b1c98dd7689fb8ec11d242b123dc9bd8bab936b47d92ec356c0bab7df5976d27cd449f63300099f399' +
  '1c260ec4c60d17b31f8429157bb35a1282a643a8d2262cad67500cadb8e7378c8eb7539ec4d4905fed1bee1fc8aafba17c750e2c7ace01e6005f80fcb7df6212' +
  '30c83711b39343fa028cea7f7fb5ff89eac2308249a02252155e2347b63d58c5457afd84d05dfffdb20392844ae812154682e9cf012f9021a6f0be17ddd0c208' +
  '4dce25ff9b06cde535d0f920a2db1bf362c23e596d11a4f5a6cf3948838a3aec4e15daf8500a6ef69ec4e3feb6b1d98e610ac8b7ec3faf6ad760b7bad1db4ba3' +
  '485e8a94dc250ae3fdb41ed15fb6a8e5eba0fc3dd60bc8e30c5c4287e53805db059ae0648db2f64264ed5e39be2e20d82df566da8dd5998ccabdae053060ae6c' +
  '7b4378e846d29f37ed7b4ea9ec5d82e7961b7f25a9323851f681d582363aa5f89937f5a67258bf63ad6f1a0b1d96dbd4faddfcefc5266ba6611722395c906556' +
  'be52afe3f565636ad1b17d508b73d8743eeb524be22b3dcbc2c7468d54119c7468449a13d8e3b95811a198f3491de3e7fe942b330407abf82a4ed7c1b311663a' +
  'c69890f4157015853d91e923037c227a33cdd5ec281ca3f79c44546b9d90ca00f064c99e3dd97911d39fe9c5d0b23a229a234cb36186c4819e8b9c5927726632' +
  '291d6a418211cc2962e20fe47feb3edf330f2c603a9d48c0fcb5699dbfe5896425c5bac4aee82e57a85aaf4e2513e4f05796b07ba2ee47d80506f8d2c25e50fd' +
  '14de71e6c418559302f939b0e1abd576f279c4b2e0feb85c1f28ff18f58891ffef132eef2fa09346aee33c28eb130ff28f5b766953334113211996d20011a198' +
  'e3fc433f9f2541010ae17c1bf202580f6047472fb36857fe843b19f5984009ddc324044e847a4f4a0ab34f719595de37252d6235365e9b84392b061085349d73' +
  '203a4a13e96f5432ec0fd4a1ee65accdd5e3904df54c1da510b0ff20dcc0c77fcb2c0e0eb605cb0504db87632cf3d8b4dae6e705769d1de354270123cb11450e' +
  'fc60ac47683d7b8d0f811365565fd98c4c8eb936bcab8d069fc33bd801b03adea2e1fbc5aa463d08ca19896d2bf59a071b851e6c239052172f296bfb5e724047' +
  '90a2181014f3b94a4e97d117b438130368cc39dbb2d198065ae3986547926cd2162f40a29f0c3c8745c0f50fba3852e566d44575c29d39a03f0cda721984b6f4' +
  '40591f355e12d439ff150aab7613499dbd49adabc8676eef023b15b65bfc5ca06948109f23f350db82123535eb8a7433bdabcb909271a6ecbcb58b936a88cd4e' +
  '8f2e6ff5800175f113253d8fa9ca8885c2f552e657dc603f252e1a8e308f76f0be79e2fb8f5d5fbbe2e30ecadd220723c8c0aea8078cdfcb3868263ff8f09400' +
  '54da48781893a7e49ad5aff4af300cd804a6b6279ab3ff3afb64491c85194aab760d58a606654f9f4400e8b38591356fbf6425aca26dc85244259ff2b19c41b9' +
  'f96f3ca9ec1dde434da7d2d392b905ddf3d1f9af93d1af5950bd493f5aa731b4056df31bd267b6b90a079831aaf579be0a39013137aac6d404f518cfd4684064' +
  '7e78bfe706ca4cf5e9c5453e9f7cfd2b8b4c8d169a44e55c88d4a9a7f9474241e221af44860018ab0856972e194cd934',
);
/** RFC 9001 A.3: the server's Initial (ACK and ServerHello). */
const SERVER_INITIAL = hex(
  'cf000000010008f067a5502a4262b5004075c0d95a482cd0991cd25b0aac406a5816b6394100f37a1c69797554780bb38cc5a99f5ede4cf73c3ec2493a1839b3dbcba3f6ea46c5b7684df3548e7ddeb9c3bf9c73cc3f3bded74b562bfb19fb84022f8ef4cdd93795d77d06edbb7aaf2f58891850abbdca3d20398c276456cbc42158407dd074ee',
);
/** RFC 9001 A.5: a short header packet protected with ChaCha20-Poly1305, payload one PING. */
const CHACHA_PACKET = hex('4cfe4189655e5cd55c41f69080575d7999c25a5bfb');
const CHACHA_SECRET = hex('9ac312a7f877468ebe69422748ad00a15443f18203a07d6060f688f30f21632b');

describe('QUIC keys (RFC 9001 A.1, A.5)', () => {
  it('derives the Initial keys from the client Destination Connection ID', () => {
    const { client, server } = initialKeys(hex('8394c8f03e515708'));
    expect(client.secret.toString('hex')).toBe('c00cf151ca5be075ed0ebfb5c80323c42d6b7db67881289af4008f1f6c357aea');
    expect([client.key, client.iv, client.hp].map((b) => b.toString('hex'))).toEqual(['1f369613dd76d5467730efcbe3b1a22d', 'fa044b2f42a3fd3b46fb255c', '9f50449e04a0e810283a1e9933adedd2']);
    expect(server.secret.toString('hex')).toBe('3c199828fd139efd216c155ad844cc81fb82fa8d7446fa7d78be803acdda951b');
    expect([server.key, server.iv, server.hp].map((b) => b.toString('hex'))).toEqual(['cf3a5331653c364c88f0f379b6067e37', '0ac1493ca1905853b0bba03e', 'c206b8d9b9f0f37644430b490eeaa314']);
  });

  it('derives ChaCha20-Poly1305 keys and the next key phase', () => {
    const keys = packetKeys(CIPHER_SUITES[0x1303], CHACHA_SECRET);
    expect(keys.key.toString('hex')).toBe('c6d98ff3441c3fe1b2182094f69caa2ed4b716b65488960a7a984979fb23e1c8');
    expect(keys.iv.toString('hex')).toBe('e0459b3474bdd0e44a41c144');
    expect(keys.hp.toString('hex')).toBe('25a282b9e82f06f21f488917a4fc8f1b73573685608597d0efcb076b0ab7a7a4');
    const next = nextKeyPhase(keys);
    expect(next.secret.toString('hex')).toBe('1223504755036d556342ee9361d253421a826c9ecdf3c7148684b36b714881f9');
    expect(next.hp.equals(keys.hp)).toBe(true);
  });
});

describe('QUIC packets (RFC 9001 A.2, A.3, A.5)', () => {
  it('opens the client Initial: packet number 2, a ClientHello in CRYPTO, the rest padding', () => {
    const [packet, ...rest] = splitDatagram(CLIENT_INITIAL, 0);
    expect(rest).toEqual([]);
    expect(packet!.type).toBe('initial');
    expect(packet!.dcid.toString('hex')).toBe('8394c8f03e515708');
    const opened = openPacket(packet!, initialKeys(packet!.dcid).client, -1)!;
    expect(opened.packetNumber).toBe(2);
    const frames = parseFrames(opened.payload);
    expect(frames.map((f) => f.kind)).toEqual(['crypto']);
    const hello = contiguousCrypto(frames as CryptoFrame[]);
    expect(hello.length).toBe(241);
    expect(clientHelloRandom(hello)).toBe('ebf8fa56f12939b9584a3896472ec40bb863cfd3e86804fe3a47f06a2b69484c');
  });

  it('opens the server Initial: packet number 1, an ACK of packet 0 and a ServerHello choosing TLS_AES_128_GCM_SHA256', () => {
    const [packet] = splitDatagram(SERVER_INITIAL, 0);
    expect(packet!.scid!.toString('hex')).toBe('f067a5502a4262b5');
    const opened = openPacket(packet!, initialKeys(hex('8394c8f03e515708')).server, -1)!;
    expect(opened.packetNumber).toBe(1);
    const frames = parseFrames(opened.payload);
    expect(frames[0]).toEqual({ kind: 'ack', ranges: [[0, 0]] });
    expect(serverHelloCipherSuite(contiguousCrypto(frames.filter((f): f is CryptoFrame => f.kind === 'crypto')))).toBe(0x1301);
  });

  it('does not open a packet with the wrong keys or one bit changed', () => {
    const [packet] = splitDatagram(CLIENT_INITIAL, 0);
    expect(openPacket(packet!, initialKeys(packet!.dcid).server, -1)).toBeUndefined();
    const bad = Buffer.from(CLIENT_INITIAL);
    bad[600]! ^= 1;
    expect(openPacket(splitDatagram(bad, 0)[0]!, initialKeys(packet!.dcid).client, -1)).toBeUndefined();
  });

  it('opens the ChaCha20 short header packet: mask, packet number 654360564, a PING', () => {
    const keys = packetKeys(CIPHER_SUITES[0x1303], CHACHA_SECRET);
    expect(headerProtectionMask(keys, hex('5e5cd55c41f69080575d7999c25a5bfb')).toString('hex')).toBe('aefefe7d03');
    const [packet] = splitDatagram(CHACHA_PACKET, 0);
    expect(packet!.type).toBe('1rtt');
    const opened = openPacket(packet!, keys, 654360563)!;
    expect(opened.packetNumber).toBe(654360564);
    expect(opened.keyPhase).toBe(0);
    expect(opened.payload.toString('hex')).toBe('01');
  });

  it('splits coalesced packets: the server Initial, then a short header packet; padding after the last is no packet', () => {
    const packets = splitDatagram(Buffer.concat([SERVER_INITIAL, CHACHA_PACKET]), 0);
    expect(packets.map((p) => [p.type, p.bytes.length])).toEqual([['initial', SERVER_INITIAL.length], ['1rtt', CHACHA_PACKET.length]]);
    expect(splitDatagram(Buffer.concat([SERVER_INITIAL, Buffer.alloc(300)]), 0).map((p) => p.type)).toEqual(['initial']);
  });

  it('recovers full packet numbers (RFC 9000 A.3)', () => {
    expect(decodePacketNumber(0xa82f30ea, 0x9b32, 2)).toBe(0xa82f9b32);
    expect(decodePacketNumber(-1, 0, 1)).toBe(0);
    expect(decodePacketNumber(254, 1, 1)).toBe(257);
    expect(decodePacketNumber(300, 250, 1)).toBe(250);
  });
});

/** Seals a 1-RTT packet as a sender does (RFC 9001 5.3, 5.4), to read it back. */
function seal(keys: PacketKeys, dcid: Buffer, pn: number, pnLength: number, keyPhase: 0 | 1, payload: Buffer): Buffer {
  const header = Buffer.alloc(1 + dcid.length + pnLength);
  header[0] = 0x40 | (keyPhase << 2) | (pnLength - 1);
  dcid.copy(header, 1);
  for (let i = 0; i < pnLength; i++) header[1 + dcid.length + i] = Math.floor(pn / 256 ** (pnLength - 1 - i)) & 0xff;
  const nonce = Buffer.from(keys.iv);
  for (let i = 0; i < 6; i++) nonce[11 - i]! ^= Math.floor(pn / 256 ** i) & 0xff;
  const cipher = createCipheriv(keys.suite.aead as 'aes-128-gcm', keys.key, nonce, { authTagLength: AEAD_TAG_BYTES });
  cipher.setAAD(header);
  const sealed = Buffer.concat([cipher.update(payload), cipher.final(), cipher.getAuthTag()]);
  const pnOffset = 1 + dcid.length;
  const mask = headerProtectionMask(keys, sealed.subarray(4 - pnLength, 20 - pnLength));
  header[0]! ^= mask[0]! & 0x1f;
  for (let i = 0; i < pnLength; i++) header[pnOffset + i]! ^= mask[1 + i]!;
  return Buffer.concat([header, sealed]);
}

describe('round trips', () => {
  const streamFrame = (id: number, offset: number, data: Buffer, fin: boolean) => {
    const head = Buffer.alloc(1 + 8 + 8 + 8);
    head[0] = 0x08 | 0x04 | 0x02 | (fin ? 1 : 0);
    let at = writeVarint(head, 1, id);
    at = writeVarint(head, at, offset);
    at = writeVarint(head, at, data.length);
    return Buffer.concat([head.subarray(0, at), data]);
  };

  it.each([0x1301, 0x1302, 0x1303] as const)('suite %i: sealed STREAM and ACK frames open again, across a key update', (code) => {
    const suite = CIPHER_SUITES[code];
    const secret = hkdfExpandLabel(suite.hash, Buffer.alloc(48, 7), 'test', suite.hash === 'sha384' ? 48 : 32);
    const phase0 = packetKeys(suite, secret);
    const phase1 = nextKeyPhase(phase0);
    const dcid = hex('0011223344556677');
    // ACK: largest 50, delay 5, one more range; first range 2 (48..50), gap 1, range 1 (44..45)
    const ack = hex('023205010201 0101'.replace(' ', ''));
    const payload = Buffer.concat([hex('0001'), streamFrame(4, 70000, Buffer.alloc(1000, 1), true), ack]);
    const p0 = seal(phase0, dcid, 1000, 2, 0, payload);
    const p1 = seal(phase1, dcid, 1001, 2, 1, payload);
    const keysFor = (phase: 0 | 1 | undefined) => (phase === 1 ? phase1 : phase0);
    for (const [packet, pn] of [[p0, 1000], [p1, 1001]] as const) {
      const [parsed] = splitDatagram(packet, dcid.length);
      const opened = openPacket(parsed!, phase0, 999, keysFor)!;
      expect(opened.packetNumber).toBe(pn);
      const frames = parseFrames(opened.payload);
      expect(frames[0]).toEqual({ kind: 'stream', streamId: 4, offset: 70000, length: 1000, fin: true, data: Buffer.alloc(1000, 1) });
      expect(frames[1]).toEqual({ kind: 'ack', ranges: [[48, 50], [44, 45]] });
    }
    // The phase-1 packet does not open with phase-0 keys.
    expect(openPacket(splitDatagram(p1, dcid.length)[0]!, phase0, 999)).toBeUndefined();
  });
});

describe('OneRttReader', () => {
  it('follows key updates, opens a late packet of the previous phase, and decodes each stage on its own', () => {
    const suite = CIPHER_SUITES[0x1301];
    const phase0 = packetKeys(suite, Buffer.alloc(32, 3));
    const phase1 = nextKeyPhase(phase0);
    const phase2 = nextKeyPhase(phase1);
    const dcid = hex('aabbccdd');
    const ping = hex('01');
    const reader = new OneRttReader(phase0);
    const read = (keys: PacketKeys, pn: number, phase: 0 | 1, stage: 'received' | 'delivered' = 'received') =>
      reader.open(splitDatagram(seal(keys, dcid, pn, 2, phase, Buffer.concat([ping, Buffer.alloc(20)])), dcid.length)[0]!, stage)?.packetNumber;
    expect(read(phase0, 1, 0)).toBe(1);
    expect(read(phase1, 2, 1)).toBe(2); // the key update
    expect(read(phase0, 1, 0, 'delivered')).toBe(1); // the earlier phase, delivered late
    expect(read(phase1, 300, 1)).toBe(300);
    expect(read(phase2, 301, 0)).toBe(301); // the next update: the bit flips back
    expect(read(phase1, 299, 1)).toBe(299); // a late packet of the phase before
    expect(read(phase0, 302, 0)).toBeUndefined(); // not a key this sender can use any more
  });
});
