import { readFileSync, writeFileSync } from 'node:fs';
import { parseHttpsUrl } from '../cli/options.ts';
import { waitForSessionTicket } from '../drivers/common.ts';
import { getDriver } from '../drivers/index.ts';
import type { ClientSession, ConnectionRecord, Protocol, RequestRecord, Target } from '../drivers/types.ts';
import { UserError } from '../util/errors.ts';
import { EXIT_CODES } from '../util/exit-codes.ts';

export interface GetOptions {
  protocol: Protocol;
  insecure?: boolean;
  cacert?: string;
  resume?: boolean;
  '0rtt'?: boolean;
  output?: string;
  json?: boolean;
}

export async function getCommand(url: string, opts: GetOptions): Promise<number> {
  const parsed = parseHttpsUrl(url);
  let ca: string | undefined;
  if (opts.cacert) {
    try {
      ca = readFileSync(opts.cacert, 'utf8');
    } catch {
      throw new UserError('E_ARG', `--cacert ${opts.cacert}: cannot read that file; give a PEM CA certificate, e.g. the ca.pem \`bench serve\` wrote`);
    }
  }
  if (opts['0rtt'] && (!opts.resume || opts.protocol !== 'h3')) {
    throw new UserError('E_ARG', '--0rtt needs --resume and --protocol h3 (TLS over TCP in Node cannot send early data)');
  }
  const target: Target = { host: parsed.host, port: parsed.port, servername: parsed.servername, ca, insecure: opts.insecure };
  const driver = await getDriver(opts.protocol);
  const attempts: Array<{ connection: ConnectionRecord | undefined; request: RequestRecord }> = [];

  const once = async (session?: Uint8Array): Promise<Uint8Array | undefined> => {
    let client: ClientSession;
    try {
      client = await driver.connect(target, { session, earlyData: opts['0rtt'] && session !== undefined, maxConnections: 1 });
    } catch (error) {
      throw new UserError('E_CONNECT', `${url}: could not connect over ${opts.protocol}: ${(error as Error).message}`);
    }
    try {
      const request = await client.request({ path: parsed.path, keepBody: true });
      attempts.push({ connection: client.connections[0], request });
      return opts.resume ? await waitForSessionTicket(client) : undefined;
    } finally {
      await client.close();
    }
  };

  const ticket = await once();
  if (opts.resume) {
    if (!ticket) process.stderr.write('bench: the server sent no session ticket; the second connection is cold\n');
    await once(ticket);
  }

  const last = attempts[attempts.length - 1]!.request;
  if (opts.output && last.body) writeFileSync(opts.output, last.body);
  if (opts.json) {
    process.stdout.write(
      JSON.stringify(attempts.map((a) => ({ connection: a.connection, request: { ...a.request, body: undefined } })), null, 2) + '\n',
    );
  } else {
    attempts.forEach((a, i) => process.stdout.write(formatAttempt(a.connection, a.request, i, opts.protocol)));
    if (!opts.output && last.body && last.body.length <= 2048 && isText(last.responseHeaders)) {
      process.stdout.write('\n' + Buffer.from(last.body).toString('utf8') + '\n');
    }
  }
  return attempts.every((a) => !a.request.error) ? EXIT_CODES.ok : EXIT_CODES.internal;
}

function isText(headers?: Record<string, string>): boolean {
  const type = headers?.['content-type'] ?? '';
  return /^text\/|json/.test(type);
}

export function formatAttempt(connection: ConnectionRecord | undefined, request: RequestRecord, index: number, protocol: Protocol): string {
  const lines: string[] = [];
  const label = index === 0 ? 'connection 1' : `connection ${index + 1} (resuming)`;
  if (request.error) lines.push(`${label}: request failed: ${request.error}`);
  else lines.push(`${label}: ${protocolName(protocol)} ${request.status}`);
  if (connection) {
    lines.push(
      `  ${connection.remoteAddress ?? '?'}:${connection.remotePort ?? '?'} alpn=${connection.alpn ?? '-'} resumed=${connection.resumed ? 'yes' : 'no'} early-data=${String(connection.earlyData)}`,
    );
  }
  for (const [name, value] of Object.entries(request.responseHeaders ?? {})) lines.push(`  ${name}: ${value}`);
  const t0 = connection?.start ?? request.queued;
  const row = (name: string, t?: number) =>
    lines.push(`  ${name.padEnd(18)} ${t === undefined ? '-' : `${(t - t0).toFixed(2).padStart(9)} ms`}`);
  lines.push('  timing (from connection start):');
  if (connection) {
    row(protocol === 'h3' ? 'QUIC handshake' : 'TCP connected', connection.transportReady);
    row('TLS done', connection.tlsReady);
  }
  row('request sent', request.sent);
  row('response headers', request.headers);
  row('first byte', request.firstByte);
  row('done', request.done);
  lines.push(`  ${'body bytes'.padEnd(18)} ${String(request.bytes).padStart(9)}`);
  return lines.join('\n') + '\n';
}

function protocolName(protocol: Protocol): string {
  return protocol === 'h1' ? 'HTTP/1.1' : protocol === 'h2' ? 'HTTP/2' : 'HTTP/3';
}
