/**
 * `npm ci` refuses a lock file that lacks any optional dependency of a locked package, even one for
 * another platform. The registry these machines use does not serve some of them (other platforms'
 * prebuilt quiche binaries), so `npm install` leaves them out: package-lock.json carries hand-added
 * entries for them (version, os, cpu; nothing to download here). This test keeps them from being lost
 * when the lock file is regenerated.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

interface LockEntry {
  version?: string;
  optionalDependencies?: Record<string, string>;
}

describe('package-lock.json', () => {
  it('lists every optional dependency of every locked package, so npm ci accepts it', () => {
    const lock = JSON.parse(readFileSync(new URL('../../package-lock.json', import.meta.url), 'utf8')) as {
      packages: Record<string, LockEntry>;
    };
    const missing: string[] = [];
    for (const [where, entry] of Object.entries(lock.packages)) {
      for (const name of Object.keys(entry.optionalDependencies ?? {})) {
        const nested = `${where ? `${where}/` : ''}node_modules/${name}`;
        if (!lock.packages[nested] && !lock.packages[`node_modules/${name}`]) missing.push(`${name} (wanted by ${where || 'the project'})`);
      }
    }
    expect(missing).toEqual([]);
  });
});
