import path from 'node:path';
import type { Protocol } from '../drivers/types.ts';
import { writeReport } from '../report/write.ts';
import { exitCodeForSignal, watchSignals } from '../runner/lifecycle.ts';
import { createProgress } from '../runner/progress.ts';
import { runScenario } from '../runner/run.ts';
import { loadScenario } from '../scenario/load.ts';

export interface RunCommandOptions {
  out?: string;
  repetitions?: number;
  protocols?: Protocol[];
  seed?: number;
  json?: boolean;
  quiet?: boolean;
}

export async function runCommand(file: string, opts: RunCommandOptions): Promise<number> {
  // Validate everything the user wrote before starting anything.
  const scenario = loadScenario(file, { repetitions: opts.repetitions, protocols: opts.protocols, seed: opts.seed });
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
    const rel = (p: string) => {
      const r = path.relative(process.cwd(), p);
      return r && !r.startsWith('..') ? r : p;
    };
    process.stderr.write(
      `bench: results in ${rel(dir)}\n  report  ${rel(written.reportPath)}\n  result  ${rel(path.join(dir, 'result.json'))}\n  events  ${rel(path.join(dir, 'raw.jsonl'))}\n`,
    );
    return result.run.status === 'complete' ? 0 : 3;
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
