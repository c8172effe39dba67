import path from 'node:path';
import type { Protocol } from '../drivers/types.ts';
import { displayPath } from '../cli/display.ts';
import { scenarioKeysThatDiffer } from '../compare/environment.ts';
import { writeReport } from '../report/write.ts';
import { readResult } from '../results/read.ts';
import type { RunResult } from '../results/model.ts';
import { applyGate } from './gate.ts';
import { watchSignals } from '../runner/lifecycle.ts';
import { createProgress } from '../runner/progress.ts';
import { CAPTURE_DIR, KEYLOG_FILE, runScenario } from '../runner/run.ts';
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
  /** A result.json (or run directory) to gate against: one assertion per headline metric at --max-regression. */
  baseline?: string;
  maxRegression?: number;
  junit?: string;
  summary?: string;
  /** Delay (ms) the built-in servers add before every response: the injected regression for calibrating the gate. */
  serverDelay?: number;
  /** Per cell a pcapng of the link's packets and the TLS key log (the userspace link only). */
  capture?: boolean;
}

export async function runCommand(file: string, opts: RunCommandOptions): Promise<number> {
  // Validate everything the user wrote before starting anything.
  const scenario = selectNetworks(
    loadScenario(file, { repetitions: opts.repetitions, protocols: opts.protocols, seed: opts.seed, capture: opts.capture }),
    opts.network,
  );
  if (opts.serverDelay && scenario.servers.kind !== 'builtin') {
    throw new UserError('E_OPTION', `--server-delay: ${scenario.file} uses ${scenario.servers.kind === 'external' ? 'servers at URLs' : 'a server started from a command'}; only bench's built-in servers can add the delay. Drop --server-delay, or use \`servers: builtin\``);
  }
  const baseline = opts.baseline ? readBaseline(opts.baseline, scenario) : undefined;
  if (opts.maxRegression !== undefined && !baseline) {
    throw new UserError('E_OPTION', '--max-regression needs --baseline <result.json>: a regression is measured against a baseline run');
  }
  const lifecycle = watchSignals((signal) => process.stderr.write(`\nbench: ${signal} received, tearing down...\n`));
  const progress = createProgress({ quiet: Boolean(opts.quiet), tty: Boolean(process.stderr.isTTY) });
  try {
    const { dir, result } = await runScenario(scenario, {
      outDir: opts.out,
      argv: process.argv.slice(2),
      progress,
      signal: lifecycle.signal,
      serverDelayMs: opts.serverDelay,
      capture: opts.capture,
    });
    const written = await writeReport(dir);
    if (opts.json) {
      process.stdout.write(JSON.stringify(written.summaryJson, null, 2) + '\n');
    } else if (!opts.quiet) {
      process.stdout.write(written.summaryText + '\n');
    }
    const rel = displayPath;
    process.stderr.write(
      `bench: results in ${rel(dir)}\n  report  ${rel(written.reportPath)}\n  result  ${rel(path.join(dir, 'result.json'))}\n  events  ${rel(path.join(dir, 'raw.jsonl'))}\n` +
        (opts.capture
          ? `  capture ${rel(path.join(dir, CAPTURE_DIR))}/ (${result.cells.filter((c) => c.capture).length} pcapng files), TLS keys ${rel(path.join(dir, KEYLOG_FILE))}\n`
          : ''),
    );
    if (result.run.status !== 'complete') return EXIT_CODES.internal;
    return applyGate(result, baseline, { ...opts, quiet: false }).exitCode;
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

/** The baseline of `--baseline`, read and checked before anything starts (a mistake exits 2, nothing left behind). */
function readBaseline(input: string, scenario: Scenario): RunResult {
  const baseline = readResult(input);
  const keys = scenarioKeysThatDiffer(baseline.scenario, JSON.parse(JSON.stringify(scenario)) as RunResult['scenario']);
  if (keys.length > 0) {
    throw new UserError(
      'E_DIFFERENT_SCENARIOS',
      `--baseline ${input} ran scenario "${baseline.scenario.name}"${keys.filter((k) => k !== 'name').length ? ` with different ${keys.filter((k) => k !== 'name').join(', ')}` : ''}, not ${scenario.file}: gate against a run of the same scenario`,
    );
  }
  return baseline;
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
