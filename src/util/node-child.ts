import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';

const require = createRequire(import.meta.url);
const tsxLoaderUrl = pathToFileURL(require.resolve('tsx/esm')).href;

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
