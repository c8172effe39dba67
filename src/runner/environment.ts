import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import type { RunResult } from '../results/model.ts';
import { packageVersion } from '../util/packages.ts';


/** The versions of this tool and of the libraries whose behaviour shapes the numbers. */
export function toolVersions(): RunResult['tool'] {
  const own = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  const dependencies: Record<string, string> = {};
  for (const name of ['undici', '@infisical/quic', 'hdr-histogram-js', 'vega', 'vega-lite', 'vega-embed', 'koffi']) {
    dependencies[name] = packageVersion(name) ?? 'unknown';
  }
  dependencies.openssl = process.versions.openssl;
  const commit = sourceCommit();
  return { name: 'bench', version: own.version, ...(commit ? { commit } : {}), dependencies };
}

/**
 * The git commit of the bench that ran, "-dirty" when tracked files differ from it, so a
 * comparison can say which build each run measured. Undefined outside a git checkout.
 */
export function sourceCommit(): string | undefined {
  const root = new URL('../..', import.meta.url).pathname;
  const git = (...args: string[]) => execFileSync('git', ['-C', root, ...args], { encoding: 'utf8', timeout: 5000, stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  try {
    const head = git('rev-parse', '--short=12', 'HEAD');
    return git('status', '--porcelain', '--untracked-files=no') ? `${head}-dirty` : head;
  } catch {
    return undefined;
  }
}

export function environmentInfo(): Omit<RunResult['environment'], 'emulator'> {
  const cpus = os.cpus();
  return {
    hostname: os.hostname(),
    node: process.version,
    platform: `${os.platform()} ${os.arch()}`,
    kernel: os.release(),
    cpu: { model: cpus[0]?.model ?? 'unknown', cores: cpus.length },
    memoryBytes: os.totalmem(),
  };
}
