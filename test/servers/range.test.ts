/**
 * A download resumed with `Range` over every protocol: bench's own H1, H2 and H3 listeners answer
 * 206 with the requested part, at its offset of the body, through the drivers the workloads use.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { patternByte } from '../../servers/handler.ts';
import { startServers, type RunningServers } from '../../servers/index.ts';
import { getDriver } from '../../src/drivers/index.ts';
import { PROTOCOLS } from '../../src/drivers/types.ts';
import { generateCertificate, type GeneratedCertificate } from '../../src/tls/cert.ts';

let cert: GeneratedCertificate;
let servers: RunningServers;

beforeAll(async () => {
  cert = await generateCertificate();
  servers = await startServers({ host: '127.0.0.1', protocols: [...PROTOCOLS], cert });
});
afterAll(() => servers?.close());

describe.each(PROTOCOLS)('%s listener', (protocol) => {
  it('answers a Range request with 206, Content-Range and exactly that part', async () => {
    const driver = await getDriver(protocol);
    const session = await driver.connect({ host: '127.0.0.1', port: servers.ports[protocol]!, servername: 'localhost', ca: cert.caPem });
    try {
      const part = await session.request({ path: '/bytes/300000', headers: { range: 'bytes=123456-' }, keepBody: true });
      expect(part.status).toBe(206);
      expect(part.responseHeaders?.['content-range']).toBe('bytes 123456-299999/300000');
      expect(part.bytes).toBe(300000 - 123456);
      for (const i of [0, 1, 250, part.bytes - 1]) expect(part.body![i]).toBe(patternByte(123456 + i));
      const whole = await session.request({ path: '/bytes/1000', keepBody: true });
      expect(whole.status).toBe(200);
      expect(whole.responseHeaders?.['accept-ranges']).toBe('bytes');
    } finally {
      await session.close();
    }
  });
});
