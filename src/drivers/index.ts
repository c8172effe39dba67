/**
 * The driver registry: `getDriver(protocol)`. h1 and h2 load on demand; h3 loads lazily from
 * ./h3.ts (which must export `h3Driver`), so a build without HTTP/3 still runs h1/h2.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { BenchError, UserError } from '../util/errors.ts';
import type { Driver, Protocol } from './types.ts';

const loaders: Record<Protocol, () => Promise<Driver>> = {
  h1: async () => (await import('./h1.ts')).h1Driver,
  h2: async () => (await import('./h2.ts')).h2Driver,
  h3: async () => {
    if (!existsSync(fileURLToPath(new URL('./h3.ts', import.meta.url)))) {
      throw new UserError('E_H3_UNAVAILABLE', 'this build has no HTTP/3 driver (src/drivers/h3.ts is missing); drop h3 from the protocols');
    }
    // A variable specifier keeps the type checker from requiring the module before it exists.
    const specifier = './h3.ts';
    const mod = (await import(specifier)) as Record<string, unknown> & { h3Driver?: Driver; default?: Driver };
    const driver = mod.h3Driver ?? mod.default ?? (Object.values(mod).find(isH3Driver) as Driver | undefined);
    if (!driver) throw new BenchError('E_H3_UNAVAILABLE', 'src/drivers/h3.ts does not export h3Driver');
    return driver;
  },
};

const cache = new Map<Protocol, Promise<Driver>>();

export function getDriver(protocol: Protocol): Promise<Driver> {
  let driver = cache.get(protocol);
  if (!driver) {
    const loader = loaders[protocol];
    if (!loader) return Promise.reject(new BenchError('E_UNKNOWN_PROTOCOL', `unknown protocol "${protocol}" (h1, h2 or h3)`));
    driver = loader();
    driver.catch(() => cache.delete(protocol));
    cache.set(protocol, driver);
  }
  return driver;
}

/**
 * The load workload's lean client for a protocol (h1-lean.ts, h2-lean.ts), or undefined where there
 * is none (h3 uses its one driver whatever the workload's `client`).
 */
export async function getLeanDriver(protocol: Protocol): Promise<Driver | undefined> {
  if (protocol === 'h1') return (await import('./h1-lean.ts')).leanH1Driver;
  if (protocol === 'h2') return (await import('./h2-lean.ts')).leanH2Driver;
  return undefined;
}

function isH3Driver(value: unknown): boolean {
  const v = value as Partial<Driver> | undefined;
  return v?.protocol === 'h3' && typeof v.connect === 'function';
}
