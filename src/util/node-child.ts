import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';

const require = createRequire(import.meta.url);
const tsxLoaderUrl = pathToFileURL(require.resolve('tsx/esm')).href;

/**
 * argv that runs a TypeScript entry file in a fresh Node process, whatever the caller's cwd.
 * Used for the server, client and link processes (optionally prefixed by `ip netns exec`).
 */
export function nodeTsArgv(scriptPath: string, args: string[] = []): string[] {
  return [process.execPath, '--import', tsxLoaderUrl, scriptPath, ...args];
}
