/**
 * SSLKEYLOGFILE for QUIC connections. quiche writes secrets only to a file it opens itself, and the
 * binding opens that path with File::create for every connection: truncated, written from offset
 * 0, so two connections on one file overwrite each other's lines. Each connection therefore gets a
 * file of its own beside the key log, copied into it once the handshake is done (and what came
 * later when the connection closes), then removed.
 */
import { readFile, rm } from 'node:fs/promises';
import { appendKeylog, keylogPath, trackKeylogWrite } from '../util/keylog.ts';
import type { NativeConnection } from './binding.ts';

export { keylogPath };

let nextFile = 0;

/** Starts logging the connection's secrets; the returned function copies what is new into the key log. */
export function applyKeylog(conn: NativeConnection, path: string | undefined = keylogPath()): (final: boolean) => void {
  if (!path) return () => {};
  const own = `${path}.quic-${process.pid}-${nextFile++}`;
  conn.setKeylog(own);
  let copied = 0;
  let copying: Promise<void> = Promise.resolve();
  return (final) => {
    copying = copying.then(async () => {
      const text = await readFile(own).catch(() => Buffer.alloc(0));
      appendKeylog(path, text.subarray(copied));
      copied = text.length;
      if (final) await rm(own, { force: true });
    });
    trackKeylogWrite(copying);
  };
}
