import { describe, expect, it } from 'vitest';
import { createHandler, MAX_DELAY_MS, PAGE_LIMITS, pageSubresourcePaths, parsePageSpec, patternByte } from '../../servers/handler.ts';

const handler = createHandler({ maxBodyBytes: 1 << 20 });
const get = (path: string, h3Port?: number) => handler({ method: 'GET', path, headers: {} }, { h3Port });

describe('route table', () => {
  it.each([0, 1, 250, 251, 1000, 65_537, 1 << 20])('/bytes/%i returns exactly that many pattern bytes', (n) => {
    const res = get(`/bytes/${n}`);
    expect(res.status).toBe(200);
    expect(res.body.byteLength).toBe(n);
    expect(res.headers['content-type']).toBe('application/octet-stream');
    for (const i of [0, 1, 250, 251, 252, n - 1].filter((i) => i >= 0 && i < n)) expect(res.body[i]).toBe(patternByte(i));
  });

  it('serves /bytes from one preallocated buffer (no per-request copy)', () => {
    const a = get('/bytes/100').body;
    const b = get('/bytes/5000').body;
    expect(a.buffer).toBe(b.buffer);
    expect(a.byteOffset).toBe(b.byteOffset);
  });

  it('refuses bodies above maxBodyBytes and malformed counts', () => {
    expect(get(`/bytes/${(1 << 20) + 1}`).status).toBe(413);
    expect(get('/bytes/abc').status).toBe(400);
    expect(get('/bytes/-1').status).toBe(400);
  });

  it('/delay/<ms> asks the listener to wait, within bounds', () => {
    expect(get('/delay/250').delayMs).toBe(250);
    expect(get('/delay/0').status).toBe(200);
    expect(get(`/delay/${MAX_DELAY_MS + 1}`).status).toBe(400);
  });

  it('/health, 404s, no-store and Alt-Svc', () => {
    expect(Buffer.from(get('/health').body).toString()).toBe('ok\n');
    expect(get('/nope').status).toBe(404);
    expect(get('/health/extra').status).toBe(404);
    expect(get('/health').headers['cache-control']).toBe('no-store');
    expect(get('/health').headers['alt-svc']).toBeUndefined();
    expect(get('/health', 4433).headers['alt-svc']).toBe('h3=":4433"; ma=86400');
  });

  it('ignores the query on fixed routes', () => {
    expect(get('/bytes/10?x=1').body.byteLength).toBe(10);
  });
});

describe('pages', () => {
  it('a depth-1 page names every leaf, and every leaf has the requested size', () => {
    const res = get('/page/p20?size=1234');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/html/);
    const html = Buffer.from(res.body).toString();
    const srcs = [...html.matchAll(/src="([^"]+)"/g)].map((m) => m[1]!.replace(/&amp;/g, '&'));
    expect(srcs).toHaveLength(20);
    expect(srcs).toEqual(pageSubresourcePaths('/page/p20', parsePageSpec('p20', new URLSearchParams('size=1234')) as never));
    for (const src of srcs) {
      const leaf = get(src);
      expect(leaf.status).toBe(200);
      expect(leaf.body.byteLength).toBe(1234);
    }
    expect(get('/page/p20/res/20?size=1234').status).toBe(404);
  });

  it('depth 2: stylesheets import the next level; fan-out from ?n=', () => {
    const spec = parsePageSpec('home', new URLSearchParams('n=3&depth=2&size=10'));
    expect(spec).toMatchObject({ fanOut: 3, depth: 2, size: 10 });
    const paths = pageSubresourcePaths('/page/home', spec as never);
    expect(paths).toHaveLength(3 + 9);
    const css = get(paths[0]!);
    expect(css.headers['content-type']).toMatch(/^text\/css/);
    const imports = [...Buffer.from(css.body).toString().matchAll(/url\("([^"]+)"\)/g)].map((m) => m[1]);
    expect(imports).toEqual(paths.slice(1, 4));
    for (const p of paths) expect(get(p).status).toBe(200);
    expect(get(paths[1]!).body.byteLength).toBe(10);
    // Below the last level there is nothing.
    expect(get(`${paths[1]!.split('?')[0]}/res/0?depth=2&n=3&size=10`).status).toBe(404);
  });

  it('?html= pads the document to that many bytes without changing what it names', () => {
    const names = (body: Uint8Array) => [...Buffer.from(body).toString().matchAll(/src="([^"]+)"/g)].map((m) => m[1]);
    const plain = get('/page/p3?size=10');
    for (const bytes of [plain.body.byteLength + 1, plain.body.byteLength + 8, 20_000]) {
      const padded = get(`/page/p3?size=10&html=${bytes}`);
      expect(padded.status).toBe(200);
      expect(padded.body.byteLength).toBe(bytes);
      expect(Buffer.from(padded.body).toString()).toMatch(/<\/body><\/html>\n$/);
      expect(names(padded.body)).toEqual(names(plain.body));
    }
    // A document longer than asked for keeps its markup.
    expect(get('/page/p3?size=10&html=5').body).toEqual(plain.body);
    expect(get(`/page/p3?html=${(1 << 20) + 1}`).status).toBe(413);
    expect(get('/page/p3?html=big').status).toBe(400);
  });

  it('rejects out-of-range page parameters with 400', () => {
    expect(get(`/page/p${PAGE_LIMITS.maxFanOut + 1}`).status).toBe(400);
    expect(get('/page/p2?depth=0').status).toBe(400);
    expect(get(`/page/p2?depth=${PAGE_LIMITS.maxDepth + 1}`).status).toBe(400);
    expect(get('/page/p2?size=big').status).toBe(400);
  });
});

describe('Range on /bytes (resuming an interrupted download)', () => {
  const ranged = (path: string, range: string) => handler({ method: 'GET', path, headers: { range } });

  it.each([
    ['bytes=0-99', 0, 99],
    ['bytes=1000-', 1000, 4999],
    ['bytes=4990-9999', 4990, 4999],
    ['bytes=-10', 4990, 4999],
    ['bytes=-9999', 0, 4999],
  ])('%s of 5000 bytes answers 206 with bytes %i-%i at their offsets', (range, first, last) => {
    const res = ranged('/bytes/5000', range);
    expect(res.status).toBe(206);
    expect(res.headers['content-range']).toBe(`bytes ${first}-${last}/5000`);
    expect(res.body.byteLength).toBe(last - first + 1);
    expect(res.body[0]).toBe(patternByte(first));
    expect(res.body[res.body.byteLength - 1]).toBe(patternByte(last));
  });

  it('a range past the end is 416; one it cannot serve (several, malformed) gets the whole body', () => {
    const past = ranged('/bytes/5000', 'bytes=5000-');
    expect(past.status).toBe(416);
    expect(past.headers['content-range']).toBe('bytes */5000');
    for (const range of ['bytes=0-1,5-6', 'items=0-5', 'bytes=9-3', 'bytes=-']) {
      const whole = ranged('/bytes/5000', range);
      expect(whole.status).toBe(200);
      expect(whole.body.byteLength).toBe(5000);
    }
    expect(get('/bytes/10').headers['accept-ranges']).toBe('bytes');
  });

  it('page leaves answer ranges too', () => {
    const res = ranged('/page/p2/res/1?size=3000', 'bytes=2000-');
    expect(res.status).toBe(206);
    expect(res.body.byteLength).toBe(1000);
    expect(res.body[0]).toBe(patternByte(2000));
  });
});
