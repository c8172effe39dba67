/**
 * The QUIC connections in a link capture, decrypted with the client's TLS key log: the client's
 * Initial packets give the ClientHello random (the key log's key) and the server's Initial the
 * cipher suite; 1-RTT packets open with keys from CLIENT_TRAFFIC_SECRET_0 (client to server) and
 * SERVER_TRAFFIC_SECRET_0 (server to client), following key updates. Handshake packets are not
 * opened (no frame of interest travels in them). Pure.
 */
import type { KeylogSecrets } from '../util/keylog.ts';
import type { LinkPacket } from './link-packets.ts';
import { contiguousCrypto, FrameError, parseFrames, type AckFrame, type CryptoFrame, type StreamFrame } from './quic-frames.ts';
import { CIPHER_SUITES, initialKeys, nextKeyPhase, packetKeys, QUIC_VERSION_1, type CipherSuiteCode, type PacketKeys } from './quic-keys.ts';
import { openPacket, splitDatagram, type ProtectedPacket } from './quic-packet.ts';
import { clientHelloRandom, serverHelloCipherSuite } from './tls-hello.ts';

export type Direction = 'up' | 'down';

/** A 1-RTT packet as the link saw it, opened. */
export interface QuicPacketRecord {
  /** The capture frame it came in (several packets can share one datagram). */
  frame: number;
  timeUs: number;
  stage: LinkPacket['stage'];
  drops: number;
  /** up: client to server; down: server to client. */
  dir: Direction;
  packetNumber: number;
  streams: StreamFrame[];
  acks: AckFrame[];
}

export interface QuicConnection {
  path: string;
  client: { address: string; port: number };
  server: { address: string; port: number };
  clientRandom?: string;
  cipherSuite?: string;
  /** 1-RTT packets opened, both directions, both stages, in capture order. */
  packets: QuicPacketRecord[];
  /** 1-RTT packets that did not open (or whose frames did not parse). */
  unopened: number;
  /** Why none of its 1-RTT packets could be opened, when so. */
  unavailable?: string;
}

/** One 1-RTT sender's keys, generation by generation (key updates), and the largest packet number seen per stage (a capture holds each packet as received and as delivered). */
export class OneRttReader {
  private readonly generations: PacketKeys[];
  private generation = 0;
  private readonly largest = { received: -1, delivered: -1 };

  constructor(first: PacketKeys) {
    this.generations = [first];
  }

  private keys(generation: number): PacketKeys {
    while (this.generations.length <= generation) this.generations.push(nextKeyPhase(this.generations[this.generations.length - 1]!));
    return this.generations[generation]!;
  }

  open(packet: ProtectedPacket, stage: LinkPacket['stage']) {
    // The key phase bit names the current generation, the next (a key update) or a late packet of the one before.
    let chosen = this.generation;
    const opened = openPacket(packet, this.generations[0]!, this.largest[stage], (phase) => {
      if (phase === undefined || phase === this.generation % 2) return this.keys(chosen);
      chosen = this.generation + 1;
      return this.keys(chosen);
    });
    const late = !opened && chosen > this.generation && this.generation > 0
      ? openPacket(packet, this.generations[0]!, this.largest[stage], () => this.keys((chosen = this.generation - 1)))
      : undefined;
    const result = opened ?? late;
    if (!result) return undefined;
    this.generation = Math.max(this.generation, chosen);
    this.largest[stage] = Math.max(this.largest[stage], result.packetNumber);
    return result;
  }
}

interface Flow {
  path: string;
  client: { address: string; port: number };
  server: { address: string; port: number };
  packets: LinkPacket[];
}

/** UDP packets by connection: its 4-tuple on a path; the client is the side that sent the first Initial. */
function quicFlows(packets: readonly LinkPacket[]): Flow[] {
  const flows = new Map<string, Flow>();
  for (const p of packets) {
    if (p.proto !== 'udp' || p.payload.length === 0) continue;
    const a = `${p.src}:${p.srcPort}`;
    const b = `${p.dst}:${p.dstPort}`;
    const key = `${p.path}|${a < b ? `${a}|${b}` : `${b}|${a}`}`;
    let flow = flows.get(key);
    if (!flow) {
      const isInitial = (p.payload[0]! & 0xf0) === 0xc0;
      if (!isInitial) continue; // not the start of a QUIC connection (or its start was not captured)
      flow = { path: p.path, client: { address: p.src, port: p.srcPort }, server: { address: p.dst, port: p.dstPort }, packets: [] };
      flows.set(key, flow);
    }
    flow.packets.push(p);
  }
  return [...flows.values()];
}

function decryptFlow(flow: Flow, keylog: ReadonlyMap<string, KeylogSecrets>): QuicConnection {
  const connection: QuicConnection = { path: flow.path, client: flow.client, server: flow.server, packets: [], unopened: 0 };
  const isDown = (p: LinkPacket) => p.srcPort === flow.server.port && p.src === flow.server.address;
  // The Initials: the client's first Destination Connection ID keys them; CRYPTO data carries the hellos.
  let initial: ReturnType<typeof initialKeys> | undefined;
  let clientCidLength: number | undefined;
  let serverCidLength: number | undefined;
  const crypto = { up: [] as CryptoFrame[], down: [] as CryptoFrame[] };
  const largestInitial = { up: -1, down: -1 };
  for (const p of flow.packets) {
    if (p.stage !== 'received') continue;
    const dir: Direction = isDown(p) ? 'down' : 'up';
    for (const packet of splitDatagram(p.payload, 0)) {
      if (packet.type !== 'initial' || packet.version !== QUIC_VERSION_1) continue;
      if (dir === 'up') {
        initial ??= initialKeys(packet.dcid);
        clientCidLength ??= packet.scid!.length;
      } else {
        serverCidLength = packet.scid!.length;
      }
      if (!initial) continue;
      const opened = openPacket(packet, dir === 'up' ? initial.client : initial.server, largestInitial[dir]);
      if (!opened) continue;
      largestInitial[dir] = Math.max(largestInitial[dir], opened.packetNumber);
      try {
        crypto[dir].push(...parseFrames(opened.payload).filter((f): f is CryptoFrame => f.kind === 'crypto'));
      } catch {
        // A frame the reader does not know: the hellos it has so far still count.
      }
    }
  }
  connection.clientRandom = clientHelloRandom(contiguousCrypto(crypto.up));
  const suiteCode = serverHelloCipherSuite(contiguousCrypto(crypto.down));
  const suite = suiteCode !== undefined ? CIPHER_SUITES[suiteCode as CipherSuiteCode] : undefined;
  connection.cipherSuite = suite?.name;
  const secrets = connection.clientRandom ? keylog.get(connection.clientRandom) : undefined;
  const clientSecret = secrets?.get('CLIENT_TRAFFIC_SECRET_0');
  const serverSecret = secrets?.get('SERVER_TRAFFIC_SECRET_0');
  if (!connection.clientRandom) connection.unavailable = 'no ClientHello in its captured Initial packets';
  else if (!suite) connection.unavailable = suiteCode === undefined ? 'no ServerHello in its captured Initial packets' : `cipher suite 0x${suiteCode.toString(16)} is not a QUIC one`;
  else if (!clientSecret || !serverSecret) connection.unavailable = `the key log has no traffic secrets for client random ${connection.clientRandom}`;
  else if (clientCidLength === undefined || serverCidLength === undefined) connection.unavailable = 'its connection IDs were not seen';
  if (connection.unavailable) return connection;

  const readers = { up: new OneRttReader(packetKeys(suite!, clientSecret!)), down: new OneRttReader(packetKeys(suite!, serverSecret!)) };
  for (const p of flow.packets) {
    const dir: Direction = isDown(p) ? 'down' : 'up';
    // A short header packet carries the receiver's connection ID: the client's on the way down.
    for (const packet of splitDatagram(p.payload, dir === 'down' ? clientCidLength! : serverCidLength!)) {
      if (packet.type !== '1rtt') continue;
      const opened = readers[dir].open(packet, p.stage);
      let frames;
      try {
        frames = opened && parseFrames(opened.payload);
      } catch (error) {
        if (!(error instanceof FrameError)) throw error;
      }
      if (!opened || !frames) {
        connection.unopened++;
        continue;
      }
      connection.packets.push({
        frame: p.frame,
        timeUs: p.timeUs,
        stage: p.stage,
        drops: p.drops,
        dir,
        packetNumber: opened.packetNumber,
        streams: frames.filter((f): f is StreamFrame => f.kind === 'stream'),
        acks: frames.filter((f): f is AckFrame => f.kind === 'ack'),
      });
    }
  }
  return connection;
}

/** Every QUIC connection whose start the capture holds, decrypted as far as the key log allows. */
export function decryptQuicConnections(packets: readonly LinkPacket[], keylog: ReadonlyMap<string, KeylogSecrets>): QuicConnection[] {
  return quicFlows(packets).map((flow) => decryptFlow(flow, keylog));
}
