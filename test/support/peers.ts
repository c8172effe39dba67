/**
 * Tests that need something outside the project (root, a Debian peer) call requirePeer(): under
 * CI=true a missing peer fails the test loudly; elsewhere the test is skipped with the reason printed.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';

export const IN_CI = process.env.CI === 'true' || process.env.CI === '1';

export function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

export function which(command: string): string | undefined {
  try {
    return execFileSync('sh', ['-c', `command -v ${command}`], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
}

export const CHROMIUM_PATH = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p));

/**
 * Returns a reason to skip (outside CI) or throws (in CI) when `available` is false.
 * Usage: `const skip = peerMissing(!!which('caddy'), 'caddy (apt-get install caddy)'); it.skipIf(skip)(...)`.
 */
export function peerMissing(available: boolean, what: string): boolean {
  if (available) return false;
  if (IN_CI) throw new Error(`required peer missing in CI: ${what}`);
  console.warn(`skipping: ${what} is not available on this machine`);
  return true;
}
