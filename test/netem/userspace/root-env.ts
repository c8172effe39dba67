import { existsSync } from 'node:fs';

/** Why tests that need root and TUN cannot run here, or undefined when they can. */
export function rootUnavailableReason(): string | undefined {
  if (process.platform !== 'linux') return 'needs Linux';
  if (process.getuid?.() !== 0) return 'needs root (network namespaces and TUN devices)';
  if (!existsSync('/dev/net/tun')) return 'needs /dev/net/tun';
  return undefined;
}

/**
 * For a describe block that needs root: in CI the tests fail with the reason, elsewhere they are
 * skipped and the reason printed once.
 */
export function requireRoot(name: string): { skip: boolean } {
  const reason = rootUnavailableReason();
  if (!reason) return { skip: false };
  if (process.env.CI === 'true') throw new Error(`${name}: ${reason} (CI=true: this test must run)`);
  console.warn(`skipping ${name}: ${reason}`);
  return { skip: true };
}
