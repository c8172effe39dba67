/**
 * The IP, UDP and TCP headers of a raw IP packet (LINKTYPE_RAW, as the link captures them): the
 * addresses, ports and, for TCP, what a reassembly needs. Pure; IPv6 extension headers and IP
 * fragments are not followed (the link's packets carry neither).
 */
export interface TcpHeader {
  seq: number;
  flags: { syn: boolean; fin: boolean; rst: boolean; ack: boolean };
}

export interface TransportPacket {
  proto: 'udp' | 'tcp';
  src: string;
  dst: string;
  srcPort: number;
  dstPort: number;
  payload: Buffer;
  tcp?: TcpHeader;
}

const UDP = 17;
const TCP = 6;

function ipv6Text(b: Buffer): string {
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(b.readUInt16BE(i).toString(16));
  return groups.join(':');
}

/** The UDP or TCP packet inside; undefined for anything else or a packet cut short. */
export function parseIpPacket(data: Uint8Array): TransportPacket | undefined {
  const ip = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  if (ip.length < 20) return undefined;
  let protocol: number;
  let src: string;
  let dst: string;
  let at: number;
  let end: number;
  if (ip[0]! >> 4 === 4) {
    protocol = ip[9]!;
    src = [...ip.subarray(12, 16)].join('.');
    dst = [...ip.subarray(16, 20)].join('.');
    at = (ip[0]! & 0x0f) * 4;
    end = Math.min(ip.readUInt16BE(2), ip.length);
  } else if (ip[0]! >> 4 === 6 && ip.length >= 40) {
    protocol = ip[6]!;
    src = ipv6Text(ip.subarray(8, 24));
    dst = ipv6Text(ip.subarray(24, 40));
    at = 40;
    end = Math.min(40 + ip.readUInt16BE(4), ip.length);
  } else {
    return undefined;
  }
  if (protocol === UDP && end - at >= 8) {
    return { proto: 'udp', src, dst, srcPort: ip.readUInt16BE(at), dstPort: ip.readUInt16BE(at + 2), payload: ip.subarray(at + 8, end) };
  }
  if (protocol === TCP && end - at >= 20) {
    const dataAt = at + (ip[at + 12]! >> 4) * 4;
    const flags = ip[at + 13]!;
    return {
      proto: 'tcp',
      src,
      dst,
      srcPort: ip.readUInt16BE(at),
      dstPort: ip.readUInt16BE(at + 2),
      payload: ip.subarray(Math.min(dataAt, end), end),
      tcp: { seq: ip.readUInt32BE(at + 4), flags: { fin: (flags & 0x01) !== 0, syn: (flags & 0x02) !== 0, rst: (flags & 0x04) !== 0, ack: (flags & 0x10) !== 0 } },
    };
  }
  return undefined;
}
