/**
 * Headless Chromium (Debian's chromium via playwright-core) forced onto HTTP/3 for one origin:
 * --origin-to-force-quic-on makes it use QUIC without an Alt-Svc round, and the certificate's
 * SPKI hash in --ignore-certificate-errors-spki-list makes it trust our self-signed certificate.
 */
import { chromium, type Browser } from 'playwright-core';
import { CHROMIUM_PATH } from '../support/peers.ts';

export interface ResourceEntry {
  name: string;
  nextHopProtocol: string;
  transferSize: number;
  responseStatus?: number;
}

export interface PageLoad {
  /** performance.getEntries() for the document and every resource, from the browser's side. */
  entries: ResourceEntry[];
  title: string;
}

export async function launchChromiumForQuic(opts: { origin: string; spkiSha256Base64: string }): Promise<Browser> {
  if (!CHROMIUM_PATH) throw new Error('chromium is not installed (apt-get install chromium)');
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: [
      '--no-sandbox',
      '--headless=new',
      `--origin-to-force-quic-on=${opts.origin}`,
      `--ignore-certificate-errors-spki-list=${opts.spkiSha256Base64}`,
      // Chromium tries ::1 first for localhost; our listeners bind 127.0.0.1.
      '--host-resolver-rules=MAP localhost 127.0.0.1',
      '--enable-quic',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-default-apps',
      '--disable-extensions',
      '--disable-sync',
      '--no-first-run',
      '--metrics-recording-only',
    ],
  });
}

/** Loads url and returns what the Performance API recorded once the load event fired. */
export async function loadPage(browser: Browser, url: string): Promise<PageLoad> {
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    await page.goto(url, { waitUntil: 'load', timeout: 30_000 });
    const entries = await page.evaluate(() =>
      performance.getEntries().flatMap((e) => {
        // Runs in the page: resource and navigation entries carry nextHopProtocol.
        const r = e as unknown as { name: string; nextHopProtocol?: string; transferSize?: number; responseStatus?: number };
        if (typeof r.nextHopProtocol !== 'string') return [];
        return [{ name: r.name, nextHopProtocol: r.nextHopProtocol, transferSize: r.transferSize ?? 0, responseStatus: r.responseStatus }];
      }),
    );
    return { entries, title: await page.title() };
  } finally {
    await context.close();
  }
}

/** An HTML page referencing n subresources by path (images as fetch targets keep it simple). */
export function pageWithSubresources(paths: string[]): string {
  const items = paths.map((p) => `<img src="${p}" alt="">`).join('\n');
  return `<!doctype html><html><head><title>bench h3 interop</title></head><body>\n${items}\n</body></html>\n`;
}
