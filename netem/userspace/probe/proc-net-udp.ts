/** A UDP socket's kernel drop counter, read from the network namespace's /proc/net/udp. */
import { readFileSync } from 'node:fs';

/** The `drops` column of this namespace's /proc/net/udp for the socket bound to `port` (IPv4). */
export function udpSocketDrops(port: number, table = readProcNetUdp()): number | undefined {
  const localPort = `:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  for (const line of table.split('\n').slice(1)) {
    const fields = line.trim().split(/\s+/);
    if (fields[1]?.endsWith(localPort)) {
      const drops = Number(fields[fields.length - 1]);
      return Number.isInteger(drops) ? drops : undefined;
    }
  }
  return undefined;
}

function readProcNetUdp(): string {
  try {
    return readFileSync('/proc/self/net/udp', 'utf8');
  } catch {
    return '';
  }
}
