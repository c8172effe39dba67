import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(import.meta.url);

/**
 * An installed package's root directory. Walks up from its resolved entry point, because many
 * packages' "exports" hide package.json from require.resolve. Undefined when not installed.
 */
export function packageRoot(name: string): string | undefined {
  let entry: string;
  try {
    entry = require.resolve(name);
  } catch {
    return undefined;
  }
  const suffix = path.sep + name.split('/').join(path.sep);
  let dir = path.dirname(entry);
  while (!(dir.endsWith(suffix) && existsSync(path.join(dir, 'package.json')))) {
    const parent = path.dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
  return dir;
}

export function packageVersion(name: string): string | undefined {
  const root = packageRoot(name);
  if (!root) return undefined;
  return (JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { version?: string }).version;
}
