/**
 * The routes a scenario's workloads request, answered by bench's own handler (servers/handler.ts):
 * what another server must answer too. `siteRoutes()` starts from each workload's first paths and
 * follows the links of HTML and CSS as the page workload does; `writeSite()` writes them as a
 * static document root ({{site}}) for servers such as Caddy and nginx; `routeChecks()` are the
 * answers checked before a run against a server bench did not write.
 *
 * A static server ignores the query string and picks the content type by extension, so each
 * route is the file `<path>.html`, `<path>.css` or `<path>.bin` (a page is both a document and the
 * directory of its subresources); servers map a request with `try_files` (see servers/examples/).
 */
import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import path from 'node:path';
import { bodyBytes, bodyPieces, sameBody } from '../../servers/body.ts';
import { createHandler } from '../../servers/handler.ts';
import type { ResponseBody } from '../../servers/handler-types.ts';
import { discoverSubresources } from '../workloads/page.ts';
import { getWorkload } from '../workloads/registry.ts';
import '../workloads/all.ts';
import type { WorkloadSpec } from '../scenario/types.ts';
import { BenchError, UserError } from '../util/errors.ts';

/** Enough for any sensible page; a depth-4 page of 1000 links would be 10^12 files. */
const MAX_FILES = 100_000;

export interface SiteRoute {
  /** Request path with its query, as the workload sends it. */
  path: string;
  /** The file under the document root: pathname + extension. */
  file: string;
  contentType: string;
  body: ResponseBody;
  /** Links the page workload follows in this HTML or CSS. */
  links: string[];
  /** The workload that first needs this route (for messages). */
  workload: string;
}

const EXTENSIONS: Array<[prefix: string, ext: string]> = [
  ['text/html', '.html'],
  ['text/css', '.css'],
];

function fileFor(pathname: string, contentType: string): string {
  const ext = EXTENSIONS.find(([prefix]) => contentType.startsWith(prefix))?.[1] ?? '.bin';
  return pathname.replace(/^\/+/, '') + ext;
}

/** Every route the workloads reach, each once. */
export function siteRoutes(workloads: ReadonlyArray<Pick<WorkloadSpec, 'type' | 'name'>>): SiteRoute[] {
  const handler = createHandler();
  const byFile = new Map<string, SiteRoute>();
  const out: SiteRoute[] = [];
  const visit = (requestPath: string, workload: string) => {
    const url = new URL(requestPath, 'https://bench.invalid');
    const response = handler({ method: 'GET', path: requestPath, headers: {} });
    if (response.status !== 200) {
      throw new BenchError('E_SITE', `bench's own handler answers ${requestPath} (workload ${workload}) with ${response.status}: ${bodyBytes(response.body).toString().trim()}`);
    }
    const contentType = response.headers['content-type'] ?? 'application/octet-stream';
    const file = fileFor(url.pathname, contentType);
    const seen = byFile.get(file);
    if (seen) {
      if (!sameBody(seen.body, response.body)) {
        throw new UserError(
          'E_SITE_CONFLICT',
          `workloads \`${seen.workload}\` and \`${workload}\` request ${seen.path} and ${requestPath}: a static server ignores the query string and cannot answer both; give one of the page workloads a different \`resources\` count`,
        );
      }
      return;
    }
    if (byFile.size >= MAX_FILES) {
      throw new UserError('E_SITE_TOO_LARGE', `the workloads' pages name more than ${MAX_FILES} files (workload ${workload}); lower \`resources\` or \`depth\` for a server started from a command`);
    }
    const links = /^text\/(html|css)/.test(contentType) ? discoverSubresources(bodyBytes(response.body).toString('utf8')) : [];
    const route: SiteRoute = { path: requestPath, file, contentType, body: response.body, links, workload };
    byFile.set(file, route);
    out.push(route);
    for (const link of links) visit(link, workload);
  };
  for (const w of workloads) {
    for (const p of getWorkload(w.type).paths(w)) visit(p, w.name);
  }
  return out;
}

/** Writes the routes under `root` (a fresh directory). */
export function writeSite(root: string, routes: readonly SiteRoute[]): void {
  for (const route of routes) {
    const file = path.join(root, route.file);
    mkdirSync(path.dirname(file), { recursive: true, mode: 0o755 });
    // Piece by piece: a download's file may be far larger than memory should hold.
    const fd = openSync(file, 'w', 0o644);
    try {
      for (const piece of bodyPieces(route.body)) {
        for (let written = 0; written < piece.byteLength; ) written += writeSync(fd, piece, written);
      }
    } finally {
      closeSync(fd);
    }
  }
}

/** What bench checks on a server it did not write: status 200, the size, the type and links pages need. */
export interface RouteCheck {
  path: string;
  bytes: number;
  /** Set for HTML and CSS: the page workload parses only these types. */
  contentType?: string;
  /** How many links the document names (HTML and CSS). */
  links?: number;
}

/** Each workload's first paths, and the first link of every page (one level deep). */
export function routeChecks(routes: readonly SiteRoute[], firstPaths: ReadonlySet<string>): RouteCheck[] {
  const wanted = new Set(firstPaths);
  for (const r of routes) if (firstPaths.has(r.path) && r.links[0] !== undefined) wanted.add(r.links[0]);
  return routes
    .filter((r) => wanted.has(r.path))
    .map((r) => {
      const parsed = r.links.length > 0 || /^text\/(html|css)/.test(r.contentType);
      return { path: r.path, bytes: r.body.byteLength, ...(parsed && { contentType: r.contentType.split(';')[0]!, links: r.links.length }) };
    });
}

/** The first paths of the workloads (without following links). */
export function firstPaths(workloads: ReadonlyArray<Pick<WorkloadSpec, 'type'>>): Set<string> {
  return new Set(workloads.flatMap((w) => getWorkload(w.type).paths(w)));
}
