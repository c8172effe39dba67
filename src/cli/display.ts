import path from 'node:path';

/** A path as the user reads it: relative to the current directory when inside it, absolute otherwise. */
export function displayPath(p: string): string {
  const r = path.relative(process.cwd(), p);
  return r && !r.startsWith('..') ? r : p;
}
