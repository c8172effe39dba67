/**
 * The chart libraries inlined into report.html: the minified browser builds of vega, vega-lite
 * and vega-embed, found through each package's own "jsdelivr"/"unpkg" field so that an upgrade
 * that moves the file keeps working.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { packageRoot } from '../util/packages.ts';
import { BenchError } from '../util/errors.ts';

export interface InlineLibrary {
  name: string;
  version: string;
  /** Path of the file that was inlined. */
  file: string;
  source: string;
}

/** Load order matters: vega-lite needs the vega global, vega-embed needs both. */
export const CHART_LIBRARIES = ['vega', 'vega-lite', 'vega-embed'] as const;

let cached: InlineLibrary[] | undefined;

export function chartLibraries(): InlineLibrary[] {
  cached ??= CHART_LIBRARIES.map(loadLibrary);
  return cached;
}

function loadLibrary(name: string): InlineLibrary {
  const dir = packageDir(name);
  const pkg = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as {
    version: string;
    jsdelivr?: string;
    unpkg?: string;
  };
  const browserBuild = pkg.jsdelivr ?? pkg.unpkg;
  if (!browserBuild) {
    throw new BenchError('REPORT_ASSET', `${name} ${pkg.version} names no browser build (jsdelivr/unpkg field)`);
  }
  const file = path.join(dir, browserBuild);
  if (!existsSync(file)) {
    throw new BenchError('REPORT_ASSET', `${name}'s browser build ${file} is missing: run npm ci`);
  }
  return { name, version: pkg.version, file, source: readFileSync(file, 'utf8') };
}

/** The package's root directory ("exports" hides package.json from require.resolve). */
function packageDir(name: string): string {
  const dir = packageRoot(name);
  if (!dir) throw new BenchError('REPORT_ASSET', `cannot find the ${name} package: run npm ci`);
  return dir;
}
