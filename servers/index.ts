/**
 * Matched servers: H1, H2 (and H3 when servers/h3.ts is present) around ONE handler, one
 * certificate and the same TLS settings. H1/H2 responses advertise the H3 listener with Alt-Svc.
 */
import type { SenderPacing } from '../netem/model.ts';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Protocol } from '../src/drivers/types.ts';
import type { QuicSenderStats } from '../src/quic/stats.ts';
import { UserError } from '../src/util/errors.ts';
import { startH1Listener } from './h1.ts';
import { startH2Listener } from './h2.ts';
import { createHandler } from './handler.ts';
import type { H3Listener, H3ListenerOptions, HandlerContext, StreamScheduling } from './handler-types.ts';
import type { ServerCertificate } from './tls-options.ts';

export interface StartServersOptions {
  host: string;
  /** Port per protocol; absent or 0 = any free port. */
  ports?: Partial<Record<Protocol, number>>;
  protocols: readonly Protocol[];
  cert: ServerCertificate;
  congestionControl?: 'cubic' | 'reno' | 'bbr';
  pacing?: SenderPacing;
  scheduling?: StreamScheduling;
  /** Largest /bytes body (default DEFAULT_MAX_BODY_BYTES). */
  maxBodyBytes?: number;
  /** Delay before every response (ms): the injected regression of `bench run --server-delay`. */
  responseDelayMs?: number;
}

export interface CpuTime {
  userMs: number;
  systemMs: number;
  totalMs: number;
}

export interface RunningServers {
  urls: Partial<Record<Protocol, string>>;
  ports: Partial<Record<Protocol, number>>;
  close(): Promise<void>;
  /** CPU time of this process since it started. All listeners share the process, so the runner
   *  samples before and after each cell (protocols run one at a time) to attribute it. */
  cpuUsage(): CpuTime;
  /** The HTTP/3 server's sender statistics of connections not reported yet (none without h3). */
  takeQuicSenderStats(): QuicSenderStats[];
}

const H3_MODULE = fileURLToPath(new URL('./h3.ts', import.meta.url));

export function h3Available(): boolean {
  return existsSync(H3_MODULE);
}

export async function startServers(opts: StartServersOptions): Promise<RunningServers> {
  const handler = createHandler({ maxBodyBytes: opts.maxBodyBytes, responseDelayMs: opts.responseDelayMs });
  const context: HandlerContext = {};
  const closers: Array<() => Promise<void>> = [];
  let h3Listener: H3Listener | undefined;
  const ports: Partial<Record<Protocol, number>> = {};
  const close = async () => {
    await Promise.allSettled(closers.splice(0).map((c) => c()));
  };
  try {
    // H3 first: its port goes into the Alt-Svc header of the H1/H2 responses.
    if (opts.protocols.includes('h3')) {
      const h3 = await startH3({
        host: opts.host,
        port: opts.ports?.h3 ?? 0,
        cert: opts.cert.certPem,
        key: opts.cert.keyPem,
        handler,
        congestionControl: opts.congestionControl,
        pacing: opts.pacing,
        scheduling: opts.scheduling,
      });
      closers.push(() => h3.close());
      h3Listener = h3;
      ports.h3 = h3.port;
      context.h3Port = h3.port;
    }
    for (const [protocol, start] of [
      ['h1', startH1Listener],
      ['h2', startH2Listener],
    ] as const) {
      if (!opts.protocols.includes(protocol)) continue;
      const listener = await start({ host: opts.host, port: opts.ports?.[protocol] ?? 0, cert: opts.cert, handler, context, pacing: opts.pacing, scheduling: opts.scheduling });
      closers.push(() => listener.close());
      ports[protocol] = listener.port;
    }
  } catch (error) {
    await close();
    throw error;
  }
  const urls: Partial<Record<Protocol, string>> = {};
  for (const [protocol, port] of Object.entries(ports) as Array<[Protocol, number]>) {
    urls[protocol] = `https://${hostForUrl(opts.host)}:${port}/`;
  }
  return {
    urls,
    ports,
    close,
    takeQuicSenderStats: () => h3Listener?.takeConnectionStats() ?? [],
    cpuUsage() {
      const u = process.cpuUsage();
      return { userMs: u.user / 1000, systemMs: u.system / 1000, totalMs: (u.user + u.system) / 1000 };
    },
  };
}

async function startH3(opts: H3ListenerOptions): Promise<H3Listener> {
  if (!h3Available()) {
    throw new UserError('E_H3_UNAVAILABLE', 'this build has no HTTP/3 server (servers/h3.ts is missing); drop h3 from the protocols');
  }
  // A variable specifier keeps the type checker from requiring the module while it does not exist.
  const specifier = './h3.ts';
  const mod = (await import(specifier)) as { startH3Listener(opts: H3ListenerOptions): Promise<H3Listener> };
  return mod.startH3Listener(opts);
}

function hostForUrl(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}
