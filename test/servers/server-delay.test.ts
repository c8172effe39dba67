/**
 * `bench run --server-delay`: the built-in servers wait before every response, over every
 * protocol: the regression the gate is calibrated with. Timed with bench's own clients.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHandler } from '../../servers/handler.ts';
import { h3Available, startServers, type RunningServers } from '../../servers/index.ts';
import { getDriver } from '../../src/drivers/index.ts';
import type { Protocol } from '../../src/drivers/types.ts';
import { generateCertificate, type GeneratedCertificate } from '../../src/tls/cert.ts';

const DELAY_MS = 60;
const protocols: Protocol[] = h3Available() ? ['h1', 'h2', 'h3'] : ['h1', 'h2'];

describe('server delay', () => {
  let cert: GeneratedCertificate;
  let plain: RunningServers;
  let delayed: RunningServers;
  beforeAll(async () => {
    cert = await generateCertificate();
    plain = await startServers({ host: '127.0.0.1', protocols, cert, maxBodyBytes: 1 << 20 });
    delayed = await startServers({ host: '127.0.0.1', protocols, cert, maxBodyBytes: 1 << 20, responseDelayMs: DELAY_MS });
  }, 60_000);
  afterAll(async () => {
    await plain?.close();
    await delayed?.close();
  });

  /** The fastest of three requests on one connection, first byte after sending (ms). */
  async function fastest(servers: RunningServers, protocol: Protocol): Promise<number> {
    const session = await getDriver(protocol).then((d) =>
      d.connect({ host: '127.0.0.1', port: servers.ports[protocol]!, servername: 'localhost', ca: cert.caPem }),
    );
    try {
      const times: number[] = [];
      for (let i = 0; i < 3; i++) {
        const r = await session.request({ path: '/bytes/1000' });
        expect(r.status).toBe(200);
        times.push(r.firstByte! - r.sent!);
      }
      return Math.min(...times);
    } finally {
      await session.close();
    }
  }

  it.each(protocols)('%s: every response waits the delay, the undelayed servers do not', async (protocol) => {
    expect(await fastest(delayed, protocol)).toBeGreaterThanOrEqual(DELAY_MS - 1);
    expect(await fastest(plain, protocol)).toBeLessThan(DELAY_MS / 2);
  }, 60_000);

  it('adds to the /delay route’s own wait', () => {
    const handler = createHandler({ maxBodyBytes: 1024, responseDelayMs: 7 });
    expect(handler({ method: 'GET', path: '/delay/5', headers: {} }).delayMs).toBe(12);
    expect(handler({ method: 'GET', path: '/bytes/10', headers: {} }).delayMs).toBe(7);
    expect(createHandler({ maxBodyBytes: 1024 })({ method: 'GET', path: '/bytes/10', headers: {} }).delayMs).toBeUndefined();
  });
});
