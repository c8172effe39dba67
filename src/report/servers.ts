/**
 * Which server answered each protocol, in words, for the report header, the environment table and
 * the summaries: a verdict may be the server's rather than the protocol's.
 */
import type { Protocol } from '../drivers/types.ts';
import type { RunResult, ServerImplementation } from '../results/model.ts';
import { PROTOCOL_NAMES } from './context.ts';

/** Results written before servers were recorded say so instead of guessing. */
export const SERVERS_NOT_RECORDED = 'not recorded in this result';

/** The server's name with what it said about itself: "caddy 2.6.2 (Server: Caddy)". */
export function serverText(server: ServerImplementation): string {
  const said = server.serverHeader !== undefined && !server.name.includes(server.serverHeader) ? ` (Server: ${server.serverHeader})` : '';
  return `${server.name}${said}`;
}

/** Protocols answered by the same server share one entry: [["HTTP/1.1, HTTP/2", "nginx ..."], ...]. */
export function serverGroups(result: RunResult, protocols: readonly Protocol[]): Array<{ protocols: string; text: string }> {
  const groups = new Map<string, Protocol[]>();
  for (const p of protocols) {
    const server = result.servers?.[p];
    const text = server ? serverText(server) : SERVERS_NOT_RECORDED;
    groups.set(text, [...(groups.get(text) ?? []), p]);
  }
  return [...groups].map(([text, ps]) => ({ protocols: ps.map((p) => PROTOCOL_NAMES[p]).join(', '), text }));
}

/** One line: "HTTP/1.1, HTTP/2, HTTP/3: caddy 2.6.2 (Server: Caddy)". */
export function serversLine(result: RunResult, protocols: readonly Protocol[]): string {
  return serverGroups(result, protocols)
    .map((g) => `${g.protocols}: ${g.text}`)
    .join('; ');
}

/** What else was recorded about one protocol's server (beyond serverText), for the environment table. */
export function serverDetails(server: ServerImplementation): { origin: string; command?: string; notes: string[] } {
  const cpu = { process: 'server CPU: its process', 'process-group': "server CPU: the command's process group (10 ms ticks)", unavailable: 'server CPU: not measured' }[server.cpu];
  const origin = server.kind === 'builtin' ? "bench's own server" : server.kind === 'external' ? `external server at ${server.url ?? '?'}` : 'started from';
  return {
    origin,
    ...(server.kind === 'command' && server.command !== undefined && { command: server.command }),
    notes: [...(server.altSvc !== undefined ? [`Alt-Svc: ${server.altSvc}`] : []), cpu],
  };
}
