/**
 * RequestTimeline across a retry, the way every driver sends a request again: the Range it asks
 * for, and how each kind of answer (206, 200, 416) continues the one record.
 */
import { describe, expect, it } from 'vitest';
import { RequestTimeline } from '../../src/drivers/common.ts';

function partlyReceived(bytes: number, spec = { path: '/bytes/1000', keepBody: true }): RequestTimeline {
  const t = new RequestTimeline('h2', spec);
  t.sent('c1', '198.18.0.10');
  t.headers(200);
  t.data(new Uint8Array(bytes).fill(1));
  t.retry(new Error('read ECONNRESET'));
  return t;
}

describe('a request sent again', () => {
  it('asks for the rest; a 206 continues the same response', () => {
    const t = partlyReceived(400);
    expect(t.attemptHeaders()).toEqual({ range: 'bytes=400-' });
    t.sent('c2', '198.18.0.11');
    t.headers(206);
    t.data(new Uint8Array(600).fill(2));
    const r = t.finish();
    expect(r).toMatchObject({ status: 200, bytes: 1000, resumedFrom: 400, retries: 1, retriedBecause: 'read ECONNRESET', connectionId: 'c2', localAddress: '198.18.0.11' });
    expect(r.refetchedBytes).toBeUndefined();
    expect(r.resent).toBeGreaterThanOrEqual(r.sent!);
    expect(Buffer.from(r.body!).subarray(398, 402)).toEqual(Buffer.from([1, 1, 2, 2]));
  });

  it('a 200 is read past the bytes that had arrived, which count as downloaded twice', () => {
    const t = partlyReceived(400);
    t.headers(200);
    t.data(new Uint8Array(1000).fill(3));
    const r = t.finish();
    expect(r).toMatchObject({ status: 200, bytes: 1000, refetchedBytes: 400 });
    expect(r.resumedFrom).toBeUndefined();
  });

  it('a 416 means every byte had arrived: the record stands, its body is not the response', () => {
    const t = partlyReceived(1000);
    t.headers(416);
    t.data(Buffer.from('range outside the 1000 bytes\n'));
    const r = t.finish();
    expect(r).toMatchObject({ status: 200, bytes: 1000, resumedFrom: 1000 });
    expect(r.refetchedBytes).toBeUndefined();
  });

  it('a request with its own Range, or not a GET, is sent again whole', () => {
    expect(partlyReceived(400, { path: '/x', headers: { Range: 'bytes=0-9' } } as never).attemptHeaders()).toEqual({ Range: 'bytes=0-9' });
    const head = new RequestTimeline('h1', { path: '/x', method: 'HEAD' });
    head.retry(new Error('x'));
    expect(head.attemptHeaders()).toBeUndefined();
    // Never written: no retry is counted.
    expect(head.finish().retries).toBeUndefined();
  });
});
