/**
 * The one route table behind every listener (H1, H2, H3). Pure: a request in, a response out;
 * listeners only translate their protocol to and from these shapes (servers/respond.ts for H1/H2).
 *
 *   /bytes/<n>                 n bytes of a fixed pattern (views of one preallocated piece, servers/body.ts);
 *                              a `Range: bytes=a-b` gets 206 with that part, as a client resuming a download asks
 *   /page/<name>               an HTML page naming its subresources (fan-out, size, depth, html size)
 *   /page/<name>/res/<i>[...]  a subresource of that page
 *   /delay/<ms>                a small body after <ms> milliseconds
 *   /health                    200 "ok"
 */
import { bufferBody, patternBodies, textBody } from './body.ts';
import type { HandlerResponse, RequestHandler } from './handler-types.ts';

export { patternByte } from './body.ts';

export interface HandlerOptions {
  /** Largest /bytes/<n> (and subresource) body. Default DEFAULT_MAX_BODY_BYTES. */
  maxBodyBytes?: number;
  /**
   * Added before every response, in whole ms (the listeners' timers): `bench run --server-delay`,
   * the known regression that calibrates the CI gate (docs/ci.md).
   */
  responseDelayMs?: number;
}

/**
 * The largest response body the servers send (the runner's servers use this default). The scenario
 * schema rejects larger response sizes, so a scenario never asks for what would come back as 413.
 * Bodies are sent piece by piece, so the limit is not memory: 1 GiB takes 9 s at 1 Gbit/s.
 */
export const DEFAULT_MAX_BODY_BYTES = 2 ** 30;
export const MAX_DELAY_MS = 60_000;
/**
 * Also the scenario schema's limits. `maxBodyBytes`: the page workload keeps every body of a page
 * whole (to find links in documents), and the handler renders a document whole, so a page's bodies
 * stay far smaller than a download (the handler holds only documents to it).
 */
export const PAGE_LIMITS = { maxFanOut: 1000, maxDepth: 4, defaultFanOut: 10, defaultSize: 10_000, maxBodyBytes: 64 * 2 ** 20 } as const;

export function createHandler(opts: HandlerOptions = {}): RequestHandler {
  const maxBodyBytes = opts.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const pattern = patternBodies();
  const text = (status: number, body: string, extra: Record<string, string> = {}): HandlerResponse => ({
    status,
    headers: { 'content-type': 'text/plain; charset=utf-8', ...extra },
    body: textBody(body),
  });
  const bytes = (n: number, range: string | undefined, contentType = 'application/octet-stream'): HandlerResponse => {
    if (n > maxBodyBytes) return text(413, `/bytes is limited to ${maxBodyBytes} bytes by the server's maxBodyBytes\n`);
    const headers = { 'content-type': contentType, 'accept-ranges': 'bytes' };
    const part = range === undefined ? undefined : byteRange(range, n);
    if (part === 'unsatisfiable') return text(416, `range outside the ${n} bytes\n`, { 'content-range': `bytes */${n}` });
    if (part === undefined) return { status: 200, headers, body: pattern(0, n) };
    return { status: 206, headers: { ...headers, 'content-range': `bytes ${part.first}-${part.last}/${n}` }, body: pattern(part.first, part.last - part.first + 1) };
  };

  return (req, ctx = {}) => {
    const response = route(req.path, req.headers.range);
    if (opts.responseDelayMs) response.delayMs = (response.delayMs ?? 0) + opts.responseDelayMs;
    response.headers['cache-control'] ??= 'no-store';
    if (ctx.h3Port !== undefined) response.headers['alt-svc'] = `h3=":${ctx.h3Port}"; ma=86400`;
    return response;
  };

  function route(rawPath: string, range: string | undefined): HandlerResponse {
    const url = new URL(rawPath, 'https://bench.invalid');
    const parts = url.pathname.split('/').filter(Boolean);
    const [head, arg] = parts;
    if (head === 'health' && parts.length === 1) return text(200, 'ok\n');
    if (head === 'bytes' && parts.length === 2) {
      const n = parseCount(arg!);
      return n === undefined ? text(400, `/bytes/<n> needs a byte count, got "${arg}"\n`) : bytes(n, range);
    }
    if (head === 'delay' && parts.length === 2) {
      const ms = parseCount(arg!);
      if (ms === undefined || ms > MAX_DELAY_MS) return text(400, `/delay/<ms> needs 0..${MAX_DELAY_MS} ms, got "${arg}"\n`);
      return { ...text(200, `delayed ${ms} ms\n`), delayMs: ms };
    }
    if (head === 'page' && parts.length >= 2) {
      const spec = parsePageSpec(arg!, url.searchParams);
      if (typeof spec === 'string') return text(400, spec + '\n');
      const level = subresourceLevel(parts.slice(2), spec.fanOut);
      if (level === undefined || level > spec.depth) return text(404, 'not found\n');
      const prefix = '/' + parts.join('/');
      if (level === 0) {
        const limit = Math.min(maxBodyBytes, PAGE_LIMITS.maxBodyBytes);
        if (spec.htmlBytes > limit) return text(413, `a page's document is limited to ${limit} bytes\n`);
        return { status: 200, headers: { 'content-type': 'text/html; charset=utf-8' }, body: bufferBody(renderPage(prefix, spec)) };
      }
      if (level < spec.depth) {
        return { status: 200, headers: { 'content-type': 'text/css; charset=utf-8' }, body: bufferBody(renderStylesheet(prefix, spec)) };
      }
      return bytes(spec.size, range);
    }
    return text(404, 'not found\n');
  }
}

export interface PageSpec {
  /** Subresources per page (and per nested stylesheet). */
  fanOut: number;
  /** Bytes of each leaf subresource. */
  size: number;
  /** 1: the page names leaves; 2+: it names stylesheets that @import the next level. */
  depth: number;
  /** The document is padded to this many bytes when its markup is shorter (0: no padding). */
  htmlBytes: number;
  /** The query string passed on to every subresource URL (all but `html`), so they stay self-describing. */
  query: string;
}

/**
 * `/page/p20?size=10000&depth=1&html=20000`: fan-out from the name (`p<N>`) or `?n=`; leaf size, depth
 * and the document's size from the query.
 */
export function parsePageSpec(name: string, query: URLSearchParams): PageSpec | string {
  const fromName = /^p(\d+)$/.exec(name)?.[1];
  const fanOut = query.has('n') ? parseCount(query.get('n')!) : fromName !== undefined ? Number(fromName) : PAGE_LIMITS.defaultFanOut;
  const size = query.has('size') ? parseCount(query.get('size')!) : PAGE_LIMITS.defaultSize;
  const depth = query.has('depth') ? parseCount(query.get('depth')!) : 1;
  const htmlBytes = query.has('html') ? parseCount(query.get('html')!) : 0;
  if (fanOut === undefined || fanOut > PAGE_LIMITS.maxFanOut) return `page fan-out must be 0..${PAGE_LIMITS.maxFanOut}`;
  if (size === undefined) return 'page ?size= must be a byte count';
  if (depth === undefined || depth < 1 || depth > PAGE_LIMITS.maxDepth) return `page ?depth= must be 1..${PAGE_LIMITS.maxDepth}`;
  if (htmlBytes === undefined) return 'page ?html= must be a byte count';
  const q = new URLSearchParams(query);
  // The document's own size says nothing about its subresources.
  q.delete('html');
  q.sort();
  const qs = q.toString();
  return { fanOut, size, depth, htmlBytes, query: qs ? `?${qs}` : '' };
}

/** Every URL a page names, depth first, as a client that fetches the whole page would request them. */
export function pageSubresourcePaths(pagePath: string, spec: PageSpec): string[] {
  const out: string[] = [];
  const walk = (prefix: string, level: number) => {
    for (let i = 0; i < spec.fanOut; i++) {
      const path = `${prefix}/res/${i}`;
      out.push(path + spec.query);
      if (level + 1 < spec.depth) walk(path, level + 1);
    }
  };
  walk(pagePath.split('?')[0]!.replace(/\/$/, ''), 0);
  return out;
}

function renderPage(prefix: string, spec: PageSpec): Buffer {
  const leaves = spec.depth === 1;
  const items = Array.from({ length: spec.fanOut }, (_, i) => {
    const href = `${prefix}/res/${i}${spec.query}`;
    return leaves ? `<img src="${escapeAttr(href)}" alt="">` : `<link rel="stylesheet" href="${escapeAttr(href)}">`;
  });
  const opening = `<!doctype html>\n<html><head><meta charset="utf-8"><title>bench page</title>\n${leaves ? '' : items.join('\n')}</head>\n` +
    `<body>\n${leaves ? items.join('\n') : ''}\n`;
  const closing = '</body></html>\n';
  return Buffer.from(opening + padding(spec.htmlBytes - Buffer.byteLength(opening) - Buffer.byteLength(closing)) + closing);
}

/** `bytes` of filler: a comment, which a preload scanner skips as a browser does (spaces when too short for one). */
function padding(bytes: number): string {
  const frame = '<!---->\n'.length;
  if (bytes <= 0) return '';
  return bytes < frame ? ' '.repeat(bytes) : `<!--${'.'.repeat(bytes - frame)}-->\n`;
}

function renderStylesheet(prefix: string, spec: PageSpec): Buffer {
  const lines = Array.from({ length: spec.fanOut }, (_, i) => `@import url("${prefix}/res/${i}${spec.query}");`);
  return Buffer.from(lines.join('\n') + '\n');
}

/** ["res","3","res","7"] -> 2; [] -> 0; anything else (or an index past the fan-out) -> undefined. */
function subresourceLevel(rest: string[], fanOut: number): number | undefined {
  if (rest.length % 2 !== 0) return undefined;
  for (let i = 0; i < rest.length; i += 2) {
    const index = parseCount(rest[i + 1]!);
    if (rest[i] !== 'res' || index === undefined || index >= fanOut) return undefined;
  }
  return rest.length / 2;
}

/**
 * One `bytes=first-last`, `bytes=first-` or `bytes=-suffix` range of a body of n bytes (RFC 9110
 * section 14.1.2), clipped to the body. undefined: no usable single range, so the whole body is sent
 * (a server may ignore what it does not support); 'unsatisfiable': a valid range starting past the end.
 */
export function byteRange(header: string, n: number): { first: number; last: number } | 'unsatisfiable' | undefined {
  const m = /^\s*bytes\s*=\s*(\d{0,15})\s*-\s*(\d{0,15})\s*$/i.exec(header);
  if (!m || (m[1] === '' && m[2] === '')) return undefined;
  if (m[1] === '') {
    const suffix = Number(m[2]);
    if (suffix === 0 || n === 0) return 'unsatisfiable';
    return { first: Math.max(0, n - suffix), last: n - 1 };
  }
  const first = Number(m[1]);
  const last = m[2] === '' ? Infinity : Number(m[2]);
  if (last < first) return undefined;
  if (first >= n) return 'unsatisfiable';
  return { first, last: Math.min(last, n - 1) };
}

function parseCount(text: string): number | undefined {
  return /^\d{1,12}$/.test(text) ? Number(text) : undefined;
}

function escapeAttr(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');
}
