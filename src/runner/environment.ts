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
  return { name: 'bench', version: own.version, dependencies };
}

export function environmentInfo(): Omit<RunResult['environment'], 'emulator'> {
  const cpus = os.cpus();
  return {
    node: process.version,
    platform: `${os.platform()} ${os.arch()}`,
    kernel: os.release(),
    cpu: { model: cpus[0]?.model ?? 'unknown', cores: cpus.length },
    memoryBytes: os.totalmem(),
  };
}
