/**
 * Headless Chromium loading a page with 20 subresources from OUR HTTP/3 listener, checked from
 * the browser's side (Performance API nextHopProtocol). Needs Debian's `chromium`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { startH3Listener, type RunningH3Listener } from '../../servers/h3.ts';
import { createHandler } from '../../servers/handler.ts';
import { generateCertificate } from '../../src/tls/cert.ts';
import { CHROMIUM_PATH, peerMissing } from '../support/peers.ts';
import { launchChromiumForQuic, loadPage } from './chromium.ts';

const skip = peerMissing(!!CHROMIUM_PATH, 'chromium (apt-get install chromium)');

describe.skipIf(skip)('Chromium against our HTTP/3 server', () => {
  let listener: RunningH3Listener;
  let browser: Browser;
  beforeAll(async () => {
    const cert = await generateCertificate();
    listener = await startH3Listener({ host: '127.0.0.1', port: 0, cert: cert.certPem, key: cert.keyPem, handler: createHandler() });
    browser = await launchChromiumForQuic({ origin: `localhost:${listener.port}`, spkiSha256Base64: cert.spkiSha256Base64 });
  });
  afterAll(async () => {
    await browser?.close();
    await listener?.close();
  });

  it('loads a page and its 20 subresources over h3', async () => {
    const load = await loadPage(browser, `https://localhost:${listener.port}/page/p20?size=2000`);
    const resources = load.entries.filter((e) => !e.name.endsWith('/favicon.ico'));
    expect(resources.filter((e) => e.name.includes('/page/p20/res/'))).toHaveLength(20);
    expect(resources.length).toBeGreaterThanOrEqual(21);
    console.log(`chromium: ${resources.length} entries, protocols ${[...new Set(resources.map((e) => e.nextHopProtocol))].join(',')}`);
    for (const e of resources) expect({ name: e.name, protocol: e.nextHopProtocol }).toEqual({ name: e.name, protocol: 'h3' });
    expect(listener.stats.requests).toBeGreaterThanOrEqual(21);
  });
});
