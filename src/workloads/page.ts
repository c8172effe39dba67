import type { ClientSession, RequestRecord } from '../drivers/types.ts';
import { monoMs } from '../util/clock.ts';
import { CellRecorder } from './recorder.ts';
import { registerWorkload } from './registry.ts';
import { connectSession } from './session.ts';
import type { Workload, WorkloadContext } from './types.ts';

export interface PageSpec {
  type: 'page';
  name: string;
  /** Subresources the page names (and each nested stylesheet names, with depth > 1). */
  resources: number;
  depth: number;
  /** Bytes of the HTML document (padded when its markup is shorter) and of each leaf subresource. */
  sizes: { html: number; resource: number };
  /** Page loads, each on fresh connections (a cold visit). */
  loads: number;
  h1PoolSize: number;
}

/** The URLs an HTML document or a stylesheet names, as a browser's preload scanner finds them. */
export function discoverSubresources(body: string): string[] {
  const urls: string[] = [];
  const patterns = [/<(?:img|script)[^>]*\ssrc="([^"]+)"/g, /<link[^>]*\shref="([^"]+)"/g, /@import\s+url\("([^"]+)"\)/g];
  for (const re of patterns) for (const m of body.matchAll(re)) urls.push(m[1]!.replace(/&amp;/g, '&'));
  return urls;
}

/** The document of a page of this shape; it names the rest. */
function pagePath(spec: PageSpec): string {
  return `/page/p${spec.resources}?size=${spec.sizes.resource}&depth=${spec.depth}&html=${spec.sizes.html}`;
}

function needsParsing(record: RequestRecord): boolean {
  const type = record.responseHeaders?.['content-type'] ?? '';
  return type.startsWith('text/html') || type.startsWith('text/css');
}

/**
 * A page as browsers load it: the HTML document, then every subresource it names (and what those
 * name), as soon as each is discovered. Page load time = first connect to last byte.
 */
export const pageWorkload: Workload<PageSpec> = {
  type: 'page',
  describe: 'A page of many subresources loaded as a browser does on a cold visit: page load time and how many handshakes it took.',
  paths: (spec) => [pagePath(spec)],
  async run(ctx) {
    const { spec } = ctx;
    const recorder = new CellRecorder(ctx);
    recorder.start(monoMs());
    const handshakesPerLoad: number[] = [];
    for (let load = 0; load < spec.loads && !ctx.signal.aborted; load++) {
      const { loadMs, connections } = await loadPage(ctx, recorder);
      recorder.recordValue('pageLoad', loadMs);
      handshakesPerLoad.push(connections);
    }
    recorder.finish(monoMs());
    return recorder.result({ details: { page: { handshakesPerLoad, resourcesPerPage: countResources(spec) } } });
  },
};

function countResources(spec: PageSpec): number {
  let total = 0;
  for (let level = 1; level <= spec.depth; level++) total += spec.resources ** level;
  return total + 1;
}

async function loadPage(ctx: WorkloadContext<PageSpec>, recorder: CellRecorder): Promise<{ loadMs: number; connections: number }> {
  const { spec } = ctx;
  const start = monoMs();
  const session: ClientSession = await connectSession(ctx, { maxConnections: spec.h1PoolSize });
  try {
    const pending: Promise<void>[] = [];
    let lastDone = start;
    const fetchOne = (path: string): Promise<void> =>
      session.request({ path, keepBody: true }).then((record) => {
        lastDone = Math.max(lastDone, record.done);
        const parse = needsParsing(record) && record.body;
        recorder.request({ ...record, body: undefined });
        if (parse) {
          for (const url of discoverSubresources(Buffer.from(record.body!).toString('utf8'))) pending.push(fetchOne(url));
        }
      });
    pending.push(fetchOne(pagePath(spec)));
    // Subresources are pushed while earlier ones settle: wait until the list stops growing.
    let settled = 0;
    while (settled < pending.length) {
      const batch = pending.slice(settled);
      settled = pending.length;
      await Promise.all(batch);
    }
    recorder.sessionConnections(session);
    return { loadMs: lastDone - start, connections: session.connections.length };
  } finally {
    await session.close();
  }
}

registerWorkload(pageWorkload);
