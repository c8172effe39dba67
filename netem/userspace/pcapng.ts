/**
 * The few pcapng blocks a link capture needs (draft-ietf-opsawg-pcapng): a Section Header, one
 * Interface Description per interface, and Enhanced Packet Blocks with an optional comment and
 * direction flag. Little-endian (the byte-order magic tells readers), microsecond timestamps (the
 * format's default resolution). Pure: blocks in, bytes out. Written here because no maintained npm
 * package writes pcapng (those that exist read it, or write classic pcap through libpcap).
 */

const SHB_TYPE = 0x0a0d0d0a;
const IDB_TYPE = 0x00000001;
const EPB_TYPE = 0x00000006;
const BYTE_ORDER_MAGIC = 0x1a2b3c4d;

const OPT_END = 0;
const OPT_COMMENT = 1;
const SHB_OS = 3;
const SHB_USERAPPL = 4;
const IF_NAME = 2;
const IF_DESCRIPTION = 3;
const EPB_FLAGS = 2;

/** LINKTYPE_RAW: the packet starts with its IPv4 or IPv6 header, as a TUN device without packet info hands it over. */
export const LINKTYPE_RAW = 101;

/** epb_flags bits 0-1: which way the packet went through the interface. */
export const DIRECTION_INBOUND = 1;
export const DIRECTION_OUTBOUND = 2;

export interface SectionOptions {
  application?: string;
  os?: string;
  comment?: string;
}

export interface InterfaceOptions {
  name: string;
  description?: string;
  linkType?: number;
}

export interface PacketRecord {
  interfaceId: number;
  /** Microseconds since the Unix epoch. */
  timestampUs: number;
  data: Uint8Array;
  /** DIRECTION_INBOUND or DIRECTION_OUTBOUND; 0 = not given. */
  direction?: number;
  comments?: readonly string[];
}

const pad4 = (n: number) => (n + 3) & ~3;

type Option = { code: number; value: Uint8Array };

const text = (code: number, value: string | undefined): Option[] => (value ? [{ code, value: Buffer.from(value, 'utf8') }] : []);

function optionsLength(options: readonly Option[]): number {
  if (options.length === 0) return 0;
  return options.reduce((sum, o) => sum + 4 + pad4(o.value.length), 0) + 4;
}

function writeOptions(buf: Buffer, at: number, options: readonly Option[]): number {
  if (options.length === 0) return at;
  for (const o of options) {
    buf.writeUInt16LE(o.code, at);
    buf.writeUInt16LE(o.value.length, at + 2);
    buf.set(o.value, at + 4);
    buf.fill(0, at + 4 + o.value.length, at + 4 + pad4(o.value.length));
    at += 4 + pad4(o.value.length);
  }
  buf.writeUInt32LE(OPT_END, at); // opt_endofopt: code 0, length 0
  return at + 4;
}

/** One block: type, total length, body, options, total length again. */
function block(type: number, bodyLength: number, options: readonly Option[], writeBody: (buf: Buffer, at: number) => void): Buffer {
  const total = 12 + pad4(bodyLength) + optionsLength(options);
  const buf = Buffer.alloc(total);
  buf.writeUInt32LE(type, 0);
  buf.writeUInt32LE(total, 4);
  writeBody(buf, 8);
  writeOptions(buf, 8 + pad4(bodyLength), options);
  buf.writeUInt32LE(total, total - 4);
  return buf;
}

export function sectionHeader(opts: SectionOptions = {}): Buffer {
  const options = [...text(OPT_COMMENT, opts.comment), ...text(SHB_OS, opts.os), ...text(SHB_USERAPPL, opts.application)];
  return block(SHB_TYPE, 16, options, (buf, at) => {
    buf.writeUInt32LE(BYTE_ORDER_MAGIC, at);
    buf.writeUInt16LE(1, at + 4); // major version
    buf.writeUInt16LE(0, at + 6); // minor version
    buf.writeBigInt64LE(-1n, at + 8); // section length not given
  });
}

export function interfaceDescription(opts: InterfaceOptions): Buffer {
  const options = [...text(IF_NAME, opts.name), ...text(IF_DESCRIPTION, opts.description)];
  return block(IDB_TYPE, 8, options, (buf, at) => {
    buf.writeUInt16LE(opts.linkType ?? LINKTYPE_RAW, at);
    buf.writeUInt16LE(0, at + 2); // reserved
    buf.writeUInt32LE(0, at + 4); // snaplen: no limit
  });
}

/** EPB options: comments, then the direction flag. */
function packetOptions(opts: { direction?: number; comments?: readonly string[] }): Option[] {
  const options: Option[] = [];
  for (const c of opts.comments ?? []) options.push({ code: OPT_COMMENT, value: Buffer.from(c, 'utf8') });
  if (opts.direction) {
    const flags = Buffer.alloc(4);
    flags.writeUInt32LE(opts.direction, 0);
    options.push({ code: EPB_FLAGS, value: flags });
  }
  return options;
}

/** The most an EPB with this much data takes with a direction flag and comments of these UTF-8 lengths. */
export function packetBlockMaxBytes(dataLength: number, commentBytes: readonly number[] = []): number {
  return 32 + pad4(dataLength) + commentBytes.reduce((sum, n) => sum + 4 + pad4(n), 0) + 8 + 4;
}

/**
 * Writes an Enhanced Packet Block's fixed part and data at `at` (the buffer must hold
 * packetBlockMaxBytes); returns where its options go. finishPacketBlock completes it, so options
 * known only later (a drop) still land in the block.
 */
export function beginPacketBlock(buf: Buffer, at: number, interfaceId: number, timestampUs: number, data: Uint8Array): number {
  buf.writeUInt32LE(EPB_TYPE, at);
  buf.writeUInt32LE(interfaceId, at + 8);
  const us = Math.round(timestampUs);
  buf.writeUInt32LE(Math.floor(us / 2 ** 32), at + 12);
  buf.writeUInt32LE(us % 2 ** 32, at + 16);
  buf.writeUInt32LE(data.length, at + 20); // captured
  buf.writeUInt32LE(data.length, at + 24); // original
  buf.set(data, at + 28);
  const end = at + 28 + pad4(data.length);
  buf.fill(0, at + 28 + data.length, end);
  return end;
}

/** Writes the options and both length fields of the block begun at `start`; returns the offset after it. */
export function finishPacketBlock(buf: Buffer, start: number, optionsAt: number, opts: { direction?: number; comments?: readonly string[] }): number {
  const end = writeOptions(buf, optionsAt, packetOptions(opts)) + 4;
  buf.writeUInt32LE(end - start, start + 4);
  buf.writeUInt32LE(end - start, end - 4);
  return end;
}

/** Enhanced Packet Blocks for many records, in one buffer. */
export function packetBlocks(records: readonly PacketRecord[]): Buffer {
  const size = (r: PacketRecord) => packetBlockMaxBytes(r.data.length, (r.comments ?? []).map((c) => Buffer.byteLength(c)));
  const buf = Buffer.allocUnsafe(records.reduce((sum, r) => sum + size(r), 0));
  let at = 0;
  for (const r of records) at = finishPacketBlock(buf, at, beginPacketBlock(buf, at, r.interfaceId, r.timestampUs, r.data), r);
  return buf.subarray(0, at);
}

/** What readPcapng finds: the interfaces (by id) and every packet. */
export interface PcapngContents {
  interfaces: InterfaceOptions[];
  packets: PacketRecord[];
}

/** Options of a block: code and value, up to opt_endofopt. */
function readOptions(buf: Buffer, at: number, end: number): Array<{ code: number; value: Buffer }> {
  const options: Array<{ code: number; value: Buffer }> = [];
  while (at + 4 <= end) {
    const code = buf.readUInt16LE(at);
    const length = buf.readUInt16LE(at + 2);
    if (code === OPT_END) break;
    options.push({ code, value: buf.subarray(at + 4, at + 4 + length) });
    at += 4 + pad4(length);
  }
  return options;
}

/**
 * Reads a little-endian pcapng (as this module writes it): interfaces and Enhanced Packet Blocks
 * with their comments and direction; other blocks are skipped. Pure; the packets are views into `buf`.
 */
export function readPcapng(buf: Buffer): PcapngContents {
  const contents: PcapngContents = { interfaces: [], packets: [] };
  let at = 0;
  while (at + 12 <= buf.length) {
    const type = buf.readUInt32LE(at);
    const total = buf.readUInt32LE(at + 4);
    if (total < 12 || at + total > buf.length) break; // a block cut short: the file is still being written
    if (type === SHB_TYPE && buf.readUInt32LE(at + 8) !== BYTE_ORDER_MAGIC) throw new Error('pcapng: only little-endian sections are read');
    if (type === IDB_TYPE) {
      const options = readOptions(buf, at + 16, at + total - 4);
      const textOf = (code: number) => options.find((o) => o.code === code)?.value.toString('utf8');
      contents.interfaces.push({ name: textOf(IF_NAME) ?? '', description: textOf(IF_DESCRIPTION), linkType: buf.readUInt16LE(at + 8) });
    } else if (type === EPB_TYPE) {
      const captured = buf.readUInt32LE(at + 20);
      const options = readOptions(buf, at + 28 + pad4(captured), at + total - 4);
      const flags = options.find((o) => o.code === EPB_FLAGS);
      const comments = options.filter((o) => o.code === OPT_COMMENT).map((o) => o.value.toString('utf8'));
      contents.packets.push({
        interfaceId: buf.readUInt32LE(at + 8),
        timestampUs: buf.readUInt32LE(at + 12) * 2 ** 32 + buf.readUInt32LE(at + 16),
        data: buf.subarray(at + 28, at + 28 + captured),
        ...(flags && { direction: flags.value.readUInt32LE(0) & 3 }),
        ...(comments.length > 0 && { comments }),
      });
    }
    at += total;
  }
  return contents;
}
