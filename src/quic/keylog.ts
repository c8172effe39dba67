/**
 * SSLKEYLOGFILE support: when the variable is set, quiche appends the TLS secrets of every
 * connection to that file (NSS key log format), so a capture can be decrypted in Wireshark.
 */
import type { NativeConnection } from './binding.ts';

export function keylogPath(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const p = env.SSLKEYLOGFILE;
  return p && p.trim() !== '' ? p : undefined;
}

export function applyKeylog(conn: NativeConnection, path: string | undefined = keylogPath()): void {
  if (path) conn.setKeylog(path);
}
