import { describe, expect, it } from 'vitest';
import { bodyBytes, bodyPieces, PATTERN_PIECE_BYTES } from '../../servers/body.ts';
import { createHandler, DEFAULT_MAX_BODY_BYTES, MAX_DELAY_MS, PAGE_LIMITS, pageSubresourcePaths, parsePageSpec, patternByte } from '../../servers/handler.ts';

const handler = createHandler({ maxBodyBytes: 1 << 20 });
const get = (path: string, h3Port?: number) => handler({ method: 'GET', path, headers: {} }, { h3Port });
const text = (path: string) => bodyBytes(get(path).body).toString();

/** Offsets where a misplaced piece would show: each end of every piece and of the body. */
function expectPattern(bytes: Buffer, first = 0): void {
  const offsets = [0, 1, 250, 251, 252, bytes.length - 1];
  for (let edge = PATTERN_PIECE_BYTES; edge < bytes.length; edge += PATTERN_PIECE_BYTES) offsets.push(edge - 1, edge, edge + 1);
  for (const i of offsets.filter((i) => i >= 0 && i < bytes.length)) expect(bytes[i], `byte ${i}`).toBe(patternByte(first + i));
}

describe('route table', () => {
  it.each([0, 1, 250, 251, 1000, 65_537, 1 << 20])('/bytes/%i returns exactly that many pattern bytes', (n) => {
    const res = get(`/bytes/${n}`);
    expect(res.status).toBe(200);
    expect(res.body.byteLength).toBe(n);
    expect(res.headers['content-type']).toBe('application/octet-stream');
    const bytes = bodyBytes(res.body);
    expect(bytes.length).toBe(n);
    expectPattern(bytes);
  });

  it('serves /bytes as views of one preallocated piece (no per-request copy), a piece at most at a time', () => {
    const pieces = [...bodyPieces(get(`/bytes/${3 * PATTERN_PIECE_BYTES + 7}`).body), ...bodyPieces(get('/bytes/5000').body)];
    expect(pieces.map((p) => p.byteLength)).toEqual([PATTERN_PIECE_BYTES, PATTERN_PIECE_BYTES, PATTERN_PIECE_BYTES, 7, 5000]);
    for (const piece of pieces) expect(piece.buffer).toBe(pieces[0]!.buffer);
  });

  it('answers the largest body the schema allows without allocating it', () => {
    const before = process.memoryUsage().arrayBuffers;
    const largest = createHandler()({ method: 'GET', path: `/bytes/${DEFAULT_MAX_BODY_BYTES}`, headers: {} });
    expect(largest.status).toBe(200);
    expect(largest.body.byteLength).toBe(DEFAULT_MAX_BODY_BYTES);
    expect([...largest.body.pieceAt(DEFAULT_MAX_BODY_BYTES - 1)]).toEqual([patternByte(DEFAULT_MAX_BODY_BYTES - 1)]);
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(4 * PATTERN_PIECE_BYTES);
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
    expect(text('/health')).toBe('ok\n');
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
    const html = bodyBytes(res.body).toString();
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
    const imports = [...bodyBytes(css.body).toString().matchAll(/url\("([^"]+)"\)/g)].map((m) => m[1]);
    expect(imports).toEqual(paths.slice(1, 4));
    for (const p of paths) expect(get(p).status).toBe(200);
    expect(get(paths[1]!).body.byteLength).toBe(10);
    // Below the last level there is nothing.
    expect(get(`${paths[1]!.split('?')[0]}/res/0?depth=2&n=3&size=10`).status).toBe(404);
  });

  it('?html= pads the document to that many bytes without changing what it names', () => {
    const names = (path: string) => [...text(path).matchAll(/src="([^"]+)"/g)].map((m) => m[1]);
    const plain = get('/page/p3?size=10');
    for (const bytes of [plain.body.byteLength + 1, plain.body.byteLength + 8, 20_000]) {
      const padded = get(`/page/p3?size=10&html=${bytes}`);
      expect(padded.status).toBe(200);
      expect(padded.body.byteLength).toBe(bytes);
      expect(text(`/page/p3?size=10&html=${bytes}`)).toMatch(/<\/body><\/html>\n$/);
      expect(names(`/page/p3?size=10&html=${bytes}`)).toEqual(names('/page/p3?size=10'));
    }
    // A document longer than asked for keeps its markup.
    expect(text('/page/p3?size=10&html=5')).toEqual(text('/page/p3?size=10'));
    expect(get(`/page/p3?html=${(1 << 20) + 1}`).status).toBe(413);
    // A document is rendered whole, so it has a limit of its own below the downloads'.
    const unlimited = createHandler();
    expect(unlimited({ method: 'GET', path: `/page/p3?html=${PAGE_LIMITS.maxBodyBytes}`, headers: {} }).status).toBe(200);
    expect(unlimited({ method: 'GET', path: `/page/p3?html=${PAGE_LIMITS.maxBodyBytes + 1}`, headers: {} }).status).toBe(413);
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
    expectPattern(bodyBytes(res.body), first);
  });

  it('a range that starts inside a piece is the pattern from its first byte across every piece', () => {
    const n = 4 * PATTERN_PIECE_BYTES;
    const first = PATTERN_PIECE_BYTES + 1000;
    const res = ranged(`/bytes/${n}`, `bytes=${first}-`);
    expect(res.status).toBe(206);
    const bytes = bodyBytes(res.body);
    expect(bytes.length).toBe(n - first);
    expectPattern(bytes, first);
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
    expect(bodyBytes(res.body)[0]).toBe(patternByte(2000));
  });
});
