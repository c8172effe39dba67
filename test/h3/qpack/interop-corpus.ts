import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (this file is test/h3/qpack/interop-corpus.ts). */
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

/** The offline-interop corpus lives next to the repository (CI copies shared/ beside the clone). */
export const INTEROP_DIR = path.resolve(REPO_ROOT, '../shared/qpack-interop');

export function interopCorpusPresent(): boolean {
  return existsSync(path.join(INTEROP_DIR, 'encoded')) && existsSync(path.join(INTEROP_DIR, 'qifs'));
}

export interface InteropBlock {
  /** 0 for encoder-stream data, otherwise the request stream of one field section. */
  streamId: number;
  payload: Uint8Array;
}

/** Splits a file of the QPACK offline-interop format: `stream id (u64) | length (u32) | payload`. */
export function parseInteropFile(bytes: Uint8Array): InteropBlock[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const blocks: InteropBlock[] = [];
  let pos = 0;
  while (pos < bytes.length) {
    if (pos + 12 > bytes.length) throw new Error(`truncated block header at offset ${pos}`);
    const streamId = Number(view.getBigUint64(pos));
    const length = view.getUint32(pos + 8);
    pos += 12;
    if (pos + length > bytes.length) throw new Error(`truncated block payload at offset ${pos}`);
    blocks.push({ streamId, payload: bytes.subarray(pos, pos + length) });
    pos += length;
  }
  return blocks;
}

export type HeaderList = Array<[string, string]>;

/** Header lists of a .qif file: `name<TAB>value` lines, blank line between lists, `#` comments. */
export function parseQif(text: string): HeaderList[] {
  const lists: HeaderList[] = [];
  let current: HeaderList = [];
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const trimmed = line.replace(/\r$/, '');
    if (trimmed === '') {
      if (current.length > 0) lists.push(current);
      current = [];
      continue;
    }
    const tab = trimmed.indexOf('\t');
    current.push(tab < 0 ? [trimmed, ''] : [trimmed.slice(0, tab), trimmed.slice(tab + 1)]);
  }
  if (current.length > 0) lists.push(current);
  return lists;
}

export interface EncodedFile {
  implementation: string;
  qif: string;
  file: string;
  tableCapacity: number;
  blockedStreams: number;
  immediateAck: boolean;
}

/** Every `encoded/qpack-05/<implementation>/<qif>.out.<table>.<blocked>.<ack>` file (examples included). */
export function listEncodedFiles(): EncodedFile[] {
  const root = path.join(INTEROP_DIR, 'encoded', 'qpack-05');
  const files: EncodedFile[] = [];
  for (const implementation of readdirSync(root, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    if (!implementation.isDirectory()) {
      // draft-examples.out: the examples of an earlier draft of the specification; its name
      // carries no parameters, so it is replayed with the examples' 220-byte table.
      const match = /^(.+)\.out$/.exec(implementation.name);
      if (!match) throw new Error(`unexpected file in the interop corpus: ${implementation.name}`);
      files.push({
        implementation: match[1]!,
        qif: match[1]!,
        file: path.join(root, implementation.name),
        tableCapacity: 220,
        blockedStreams: 100,
        immediateAck: false,
      });
      continue;
    }
    for (const name of readdirSync(path.join(root, implementation.name)).sort()) {
      const match = /^(.+)\.out\.(\d+)\.(\d+)\.([01])$/.exec(name);
      if (!match) throw new Error(`unexpected file name in the interop corpus: ${implementation.name}/${name}`);
      files.push({
        implementation: implementation.name,
        qif: match[1]!,
        file: path.join(root, implementation.name, name),
        tableCapacity: Number(match[2]),
        blockedStreams: Number(match[3]),
        immediateAck: match[4] === '1',
      });
    }
  }
  return files;
}

export function readLatin1(file: string): string {
  return readFileSync(file, 'latin1');
}

export function qifPath(qif: string): string {
  return path.join(INTEROP_DIR, 'qifs', `${qif}.qif`);
}

export function errorFiles(): string[] {
  const dir = path.join(INTEROP_DIR, 'encoded', 'errors');
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .sort((a, b) => a.localeCompare(b, 'en', { numeric: true }))
    .map((name) => path.join(dir, name));
}

/**
 * Connection-specific fields, which HTTP/3 forbids (RFC 9114 Section 4.2). The corpus's
 * `<name>-hq` inputs are `<name>.qif` without them; only the plain qif is shipped.
 */
export const CONNECTION_SPECIFIC_FIELDS = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade']);

/** RFC 9204 Appendix B field sections (streams 0, 4 and 8), which examples/examples.out.* encodes. */
export const RFC9204_APPENDIX_B_LISTS: HeaderList[] = [
  [[':path', '/index.html']],
  [[':authority', 'www.example.com'], [':path', '/sample/path']],
  [[':authority', 'www.example.com'], [':path', '/'], ['custom-key', 'custom-value']],
];

/** The header lists an encoded file must decode to, and where they come from. */
export function expectedLists(qif: string): { lists: HeaderList[]; source: string } | undefined {
  if (existsSync(qifPath(qif))) return { lists: parseQif(readLatin1(qifPath(qif))), source: `qifs/${qif}.qif` };
  const hq = /^(.+)-hq$/.exec(qif);
  if (hq && existsSync(qifPath(hq[1]!))) {
    const lists = parseQif(readLatin1(qifPath(hq[1]!))).map((list) => list.filter(([name]) => !CONNECTION_SPECIFIC_FIELDS.has(name)));
    return { lists, source: `qifs/${hq[1]}.qif without connection-specific fields` };
  }
  if (qif === 'examples') return { lists: RFC9204_APPENDIX_B_LISTS, source: 'RFC 9204 Appendix B' };
  return undefined;
}
