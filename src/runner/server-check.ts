/**
 * Runs in the client process (the client namespace), before any cell, against a server bench did
 * not write (an external URL or a server started from a command): waits until the protocol's
 * port answers (a TCP+TLS connection for h1/h2, a QUIC handshake for h3, with the protocol's own
 * driver), then checks the routes the workloads will request.
 */
import { getDriver } from '../drivers/index.ts';
import { errorText } from '../drivers/common.ts';
import type { ClientSession, Protocol, RequestRecord, Target } from '../drivers/types.ts';
import { discoverSubresources } from '../workloads/page.ts';
import type { RouteCheck } from './site.ts';

/** A GET of anything larger would cost seconds on a slow link: HEAD and content-length instead. */
const GET_LIMIT_BYTES = 1_000_000;
const RETRY_MS = 250;

export interface ServerCheckRequest {
  protocol: Protocol;
  target: Target;
  /** Keep trying to connect this long (a server that is starting); 0 = one attempt. */
  waitMs: number;
  /** One connection attempt, or one request, at most this long. */
  attemptTimeoutMs: number;
  routes: RouteCheck[];
}

export type ServerCheckOutcome =
  | { ok: true; serverHeader?: string; altSvc?: string }
  | { ok: false; stage: 'connect' | 'route'; problem: string };

export async function checkServer(req: ServerCheckRequest): Promise<ServerCheckOutcome> {
  const driver = await getDriver(req.protocol);
  const deadline = Date.now() + req.waitMs;
  let session: ClientSession | undefined;
  let lastError = '';
  for (;;) {
    try {
      session = await withTimeout(driver.connect(req.target, { maxConnections: 1 }), req.attemptTimeoutMs, 'no answer', (late) => void late.close());
      break;
    } catch (error) {
      lastError = errorText(error);
      if (Date.now() + RETRY_MS >= deadline) return { ok: false, stage: 'connect', problem: lastError };
      await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
    }
  }
  try {
    let headers: Record<string, string> | undefined;
    for (const route of req.routes) {
      const head = route.bytes > GET_LIMIT_BYTES;
      let record: RequestRecord;
      try {
        record = await withTimeout(session.request({ method: head ? 'HEAD' : 'GET', path: route.path, keepBody: true }), req.attemptTimeoutMs, 'no response');
      } catch (error) {
        return { ok: false, stage: 'route', problem: `${route.path}: ${errorText(error)}` };
      }
      headers ??= record.responseHeaders;
      const problem = routeProblem(route, record, head);
      if (problem) return { ok: false, stage: 'route', problem: `${head ? 'HEAD' : 'GET'} ${route.path} ${problem}` };
    }
    return { ok: true, serverHeader: headers?.server, altSvc: headers?.['alt-svc'] };
  } finally {
    await session.close().catch(() => {});
  }
}

function routeProblem(route: RouteCheck, record: RequestRecord, head: boolean): string | undefined {
  if (record.error) return `failed: ${record.error}`;
  if (record.status !== 200) return `answered ${record.status}, expected 200`;
  const type = record.responseHeaders?.['content-type'] ?? '';
  if (route.contentType && !type.startsWith(route.contentType)) {
    return `answered content-type ${JSON.stringify(type)}, expected ${route.contentType} (the page workload follows links only in HTML and CSS)`;
  }
  const length = head ? Number(record.responseHeaders?.['content-length']) : record.bytes;
  if (length !== route.bytes) return `answered ${head ? `content-length ${record.responseHeaders?.['content-length'] ?? '(none)'}` : `${length} bytes`}, expected ${route.bytes}`;
  if (route.links !== undefined && !head) {
    const links = discoverSubresources(Buffer.from(record.body ?? new Uint8Array()).toString('utf8')).length;
    if (links !== route.links) return `names ${links} subresources, expected ${route.links}`;
  }
  return undefined;
}

/** `work`, or a rejection after `ms`; a result that arrives late goes to `late` (e.g. to close it). */
function withTimeout<T>(work: Promise<T>, ms: number, what: string, late?: (value: T) => void): Promise<T> {
  let timedOut = false;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      timedOut = true;
      reject(new Error(`${what} within ${ms} ms`));
    }, ms);
  });
  work.then((value) => timedOut && late?.(value), () => {});
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}
