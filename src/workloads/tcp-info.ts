/**
 * TCP statistics of the client's connections from `ss -tin` (run inside the client namespace,
 * where the client process lives). Parsing is pure and tested on captured output.
 */
import { execFile } from 'node:child_process';
import type { TransportStats } from '../drivers/types.ts';

export interface TcpInfo extends TransportStats {
  localPort: number;
  remotePort: number;
}

export function parseSsOutput(text: string): TcpInfo[] {
  const out: TcpInfo[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const head = lines[i]!.trim().split(/\s+/);
    if (head[0] !== 'ESTAB' && head[0] !== 'FIN-WAIT-1' && head[0] !== 'CLOSE-WAIT') continue;
    const local = head[3] ?? '';
    const remote = head[4] ?? '';
    const info = lines[i + 1] ?? '';
    const num = (re: RegExp) => {
      const m = re.exec(info);
      return m ? Number(m[1]) : undefined;
    };
    const mss = num(/\bmss:(\d+)/) ?? 1448;
    const cwnd = num(/\bcwnd:(\d+)/);
    out.push({
      localPort: Number(local.slice(local.lastIndexOf(':') + 1)),
      remotePort: Number(remote.slice(remote.lastIndexOf(':') + 1)),
      rttMs: num(/\brtt:([\d.]+)\//),
      cwndBytes: cwnd !== undefined ? cwnd * mss : undefined,
      // ss omits retrans when there were none.
      retransmittedPackets: num(/\bretrans:\d+\/(\d+)/) ?? 0,
      lostPackets: num(/\blost:(\d+)/) ?? 0,
      sentBytes: num(/\bbytes_sent:(\d+)/),
      recvBytes: num(/\bbytes_received:(\d+)/),
      sentPackets: num(/\bsegs_out:(\d+)/),
      recvPackets: num(/\bsegs_in:(\d+)/),
    });
  }
  return out;
}

export function readTcpInfo(remotePort: number): Promise<TcpInfo[]> {
  return new Promise((resolve) => {
    execFile('ss', ['-tin', 'state', 'established', `( dport = :${remotePort} )`], { timeout: 5000 }, (error, stdout) => {
      if (error) return resolve([]);
      // With a state filter ss omits the State column: put it back so one parser serves both forms.
      const normalised = stdout
        .split('\n')
        .map((l) => (/^\d+\s+\d+\s+\S+:\d+\s+\S+:\d+/.test(l.trim()) ? `ESTAB ${l.trim()}` : l))
        .join('\n');
      resolve(parseSsOutput(normalised));
    });
  });
}
