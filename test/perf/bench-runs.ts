/**
 * `bench run` as a benchmark's subject: the multiplex workload (N concurrent requests on one
 * connection, in rounds) behind a loss-free shaped path, against bench's own servers or Caddy's.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RunResult } from '../../src/results/model.ts';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const CADDYFILE = path.join(ROOT, 'servers/examples/caddy/Caddyfile');
/** The scenario's `servers:` for Debian's Caddy with the example Caddyfile. */
export const CADDY_SERVERS = `servers:\n  command: caddy run --config {{config}} --adapter caddyfile\n  config: ${CADDYFILE}\n  version: caddy version`;

export function multiplexScenario(opts: {
  name: string;
  description: string;
  protocols: string[];
  repetitions: number;
  oneWayDelayMs: number;
  requests: number;
  size: string;
  rounds: number;
  /** network.pacing; the scenario default when absent. */
  pacing?: string;
  /** A `servers:` block (CADDY_SERVERS); bench's own servers when absent. */
  servers?: string;
  /** `scheduling:` of bench's own servers; the scenario default when absent. */
  scheduling?: string;
}): string {
  return [
    `name: ${opts.name}`,
    `description: ${opts.description}`,
    `protocols: [${opts.protocols.join(', ')}]`,
    `repetitions: ${opts.repetitions}`,
    'seed: 1',
    'network:',
    '  backend: auto',
    ...(opts.pacing === undefined ? [] : [`  pacing: ${opts.pacing}`]),
    '  link:',
    `    delay: ${opts.oneWayDelayMs}ms`,
    ...(opts.servers ? [opts.servers] : []),
    ...(opts.scheduling ? [`scheduling: ${opts.scheduling}`] : []),
    'workloads:',
    '  - type: multiplex',
    `    requests: ${opts.requests}`,
    `    sizes: [${opts.size}]`,
    `    rounds: ${opts.rounds}`,
    '    reference: false',
    'timeouts:',
    '  request: 60s',
    '  cell: 5m',
    '',
  ].join('\n');
}

/** Runs the scenario text with `bench run --quiet` into `<dir>/<name>`; throws with its stderr when it fails. */
export function runBench(dir: string, name: string, yaml: string): { result: RunResult; outDir: string } {
  const file = path.join(dir, `${name}.yaml`);
  const outDir = path.join(dir, name);
  writeFileSync(file, yaml);
  const r = spawnSync(process.execPath, [path.join(ROOT, 'src/bin.mjs'), 'run', file, '--out', outDir, '--quiet'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`bench run ${name} failed (exit ${r.status}):\n${r.stderr.slice(-2000)}`);
  return { result: JSON.parse(readFileSync(path.join(outDir, 'result.json'), 'utf8')) as RunResult, outDir };
}
