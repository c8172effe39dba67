import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';

const require = createRequire(import.meta.url);
const tsxLoaderUrl = pathToFileURL(require.resolve('tsx/esm')).href;
const tsxApiUrl = import.meta.resolve('tsx/esm/api');

/**
 * argv that runs a TypeScript entry file in a fresh Node process, whatever the caller's cwd.
 * Used for the server, client and link processes (optionally prefixed by `ip netns exec`).
 */
export function nodeTsArgv(scriptPath: string, args: string[] = []): string[] {
  return [process.execPath, ...profilingFlags(), '--import', tsxLoaderUrl, scriptPath, ...args];
}

/**
 * BENCH_CPU_PROFILE_DIR=<dir>: every child (server, client, link) writes a V8 CPU profile there
 * when it exits, for finding where a protocol's time goes (open the .cpuprofile in Chrome's
 * DevTools). Node refuses --cpu-prof in NODE_OPTIONS, hence this variable.
 */
function profilingFlags(): string[] {
  const dir = process.env.BENCH_CPU_PROFILE_DIR;
  return dir ? ['--cpu-prof', `--cpu-prof-dir=${dir}`] : [];
}

/**
 * A worker thread running a .ts entry: workers do not inherit the tsx loader, so a few lines of
 * plain JavaScript import the entry through tsx's API. The entry reads `workerData.data`.
 */
export function startTsWorker(scriptPath: string, data: unknown): Worker {
  const boot = 'const { workerData } = require("node:worker_threads"); import(workerData.tsx).then((t) => t.tsImport(workerData.entry, workerData.entry));';
  return new Worker(boot, { eval: true, workerData: { tsx: tsxApiUrl, entry: pathToFileURL(scriptPath).href, data } });
}
