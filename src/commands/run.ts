import path from 'node:path';
import type { Protocol } from '../drivers/types.ts';
import { displayPath } from '../cli/display.ts';
import { writeReport } from '../report/write.ts';
import { watchSignals } from '../runner/lifecycle.ts';
import { createProgress } from '../runner/progress.ts';
import { runScenario } from '../runner/run.ts';
import { loadScenario } from '../scenario/load.ts';
import type { Scenario } from '../scenario/types.ts';
import { UserError } from '../util/errors.ts';
import { EXIT_CODES, exitCodeForSignal } from '../util/exit-codes.ts';

export interface RunCommandOptions {
  out?: string;
  repetitions?: number;
  protocols?: Protocol[];
  seed?: number;
  json?: boolean;
  quiet?: boolean;
  /** Comma-separated network variant labels to keep (a subset of a sweep). */
  network?: string;
}

export async function runCommand(file: string, opts: RunCommandOptions): Promise<number> {
  // Validate everything the user wrote before starting anything.
  const scenario = selectNetworks(
    loadScenario(file, { repetitions: opts.repetitions, protocols: opts.protocols, seed: opts.seed }),
    opts.network,
  );
  const lifecycle = watchSignals((signal) => process.stderr.write(`\nbench: ${signal} received, tearing down...\n`));
  const progress = createProgress({ quiet: Boolean(opts.quiet), tty: Boolean(process.stderr.isTTY) });
  try {
    const { dir, result } = await runScenario(scenario, {
      outDir: opts.out,
      argv: process.argv.slice(2),
      progress,
      signal: lifecycle.signal,
    });
    const written = await writeReport(dir);
    if (opts.json) {
      process.stdout.write(JSON.stringify(written.summaryJson, null, 2) + '\n');
    } else if (!opts.quiet) {
      process.stdout.write(written.summaryText + '\n');
    }
    const rel = displayPath;
    process.stderr.write(
      `bench: results in ${rel(dir)}\n  report  ${rel(written.reportPath)}\n  result  ${rel(path.join(dir, 'result.json'))}\n  events  ${rel(path.join(dir, 'raw.jsonl'))}\n`,
    );
    return result.run.status === 'complete' ? EXIT_CODES.ok : EXIT_CODES.internal;
  } catch (error) {
    const signal = lifecycle.interruptedBy();
    const runDir = (error as { runDir?: string }).runDir;
    if (runDir) await writeReport(runDir).catch(() => {});
    if (signal) {
      if (runDir) process.stderr.write(`bench: interrupted; partial results kept in ${runDir}\n`);
      return exitCodeForSignal(signal);
    }
    throw error;
  } finally {
    lifecycle.dispose();
  }
}

/** `--network rtt=100ms,rtt=300ms`: keep only those variants of the scenario's networks. */
export function selectNetworks(scenario: Scenario, labels: string | undefined): Scenario {
  if (!labels) return scenario;
  const wanted = labels.split(',').map((l) => l.trim()).filter(Boolean);
  const known = scenario.networks.map((n) => n.label);
  const unknown = wanted.filter((w) => !known.includes(w));
  if (unknown.length > 0 || wanted.length === 0) {
    throw new UserError(
      'E_OPTION',
      `--network: ${unknown.length ? `no network variant "${unknown.join('", "')}" in ${scenario.file}` : 'give at least one label'}; its variants are ${known.join(', ')}`,
    );
  }
  return { ...scenario, networks: scenario.networks.filter((n) => wanted.includes(n.label)) };
}
