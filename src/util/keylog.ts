/**
 * SSLKEYLOGFILE (NSS key log format): when the variable names a file, every TLS connection the
 * process makes appends its secrets there, so a capture of it can be decrypted (Wireshark, tshark
 * `-o tls.keylog_file:<file>`). Used by the TCP TLS client (node's 'keylog' event) and by QUIC.
 * Writes never block: the secrets arrive during handshakes that are being timed.
 */
import { appendFile } from 'node:fs/promises';

export function keylogPath(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const p = env.SSLKEYLOGFILE;
  return p && p.trim() !== '' ? p : undefined;
}

const pending = new Set<Promise<unknown>>();

/** Keeps track of key log work, so a process can finish it before it exits (keylogWritesDone). */
export function trackKeylogWrite(work: Promise<unknown>): void {
  const tracked = work.catch((error: Error) => process.emitWarning(`could not write TLS secrets: ${error.message}`));
  pending.add(tracked);
  void tracked.finally(() => pending.delete(tracked));
}

/** Appends key log lines; O_APPEND keeps concurrent writers' lines whole. */
export function appendKeylog(file: string, lines: string | Uint8Array): void {
  if (lines.length > 0) trackKeylogWrite(appendFile(file, lines));
}

/** Resolves when every key log write started so far has ended. */
export async function keylogWritesDone(): Promise<void> {
  while (pending.size > 0) await Promise.allSettled([...pending]);
}

/** The secrets of one TLS connection in a key log, by label (CLIENT_TRAFFIC_SECRET_0, ...). */
export type KeylogSecrets = ReadonlyMap<string, Buffer>;

/** Reads an NSS key log: `<label> <client random hex> <secret hex>` per line; other lines are skipped. */
export function parseKeylog(text: string): Map<string, Map<string, Buffer>> {
  const byRandom = new Map<string, Map<string, Buffer>>();
  for (const line of text.split('\n')) {
    const m = /^([A-Z_0-9]+) ([0-9a-fA-F]{64}) ([0-9a-fA-F]+)\s*$/.exec(line);
    if (!m) continue;
    const random = m[2]!.toLowerCase();
    if (!byRandom.has(random)) byRandom.set(random, new Map());
    byRandom.get(random)!.set(m[1]!, Buffer.from(m[3]!, 'hex'));
  }
  return byRandom;
}
