/**
 * `bench ab <scenario> --baseline-build <dir>`: baseline and candidate measured in one sitting on
 * this machine, alternating single-repetition runs (ABBA, src/runner/interleave.ts), each build's
 * runs gathered into one result.json, then the gate's evaluation of the candidate against the
 * baseline (the same as `bench gate`). A stored baseline carries the noise of the minute it was
 * made; interleaved runs share it (docs/ci.md).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { displayPath } from '../cli/display.ts';
import { DEFAULT_AB_MAX_REGRESSION } from '../gate/defaults.ts';
import { renderGateMarkdown } from '../gate/report.ts';
import type { RunResult } from '../results/model.ts';
import { readResult } from '../results/read.ts';
import { writeReport } from '../report/write.ts';
import { abOrder, type AbRole, mergeRuns } from '../runner/interleave.ts';
import { watchSignals } from '../runner/lifecycle.ts';
import { defaultRunDir } from '../runner/run.ts';
import { loadScenario } from '../scenario/load.ts';
import { BenchError, UserError } from '../util/errors.ts';
import { EXIT_CODES, exitCodeForSignal } from '../util/exit-codes.ts';
import { applyGate, type GateOutputOptions } from './gate.ts';

/** This checkout: the candidate unless --candidate-build names another. */
const THIS_BUILD = fileURLToPath(new URL('../..', import.meta.url));

/** Fewest pairs for a verdict: the gate judges a ratio of medians from 5 repetitions on (docs/ci.md). */
export const MIN_AB_PAIRS = 5;
export const DEFAULT_AB_PAIRS = 10;

export interface AbCommandOptions extends GateOutputOptions {
  baselineBuild: string;
  candidateBuild?: string;
  pairs?: number;
  out?: string;
  /** ms the candidate's built-in servers wait before every response (`--server-delay` of its runs only). */
  candidateServerDelay?: number;
  quiet?: boolean;
}

export async function abCommand(file: string, opts: AbCommandOptions): Promise<number> {
  // Everything the user wrote is checked before the first run starts.
  const scenario = loadScenario(file);
  const builds: Record<AbRole, string> = {
    baseline: checkBuild(opts.baselineBuild, '--baseline-build'),
    candidate: checkBuild(opts.candidateBuild ?? THIS_BUILD, '--candidate-build'),
  };
  const pairs = opts.pairs ?? DEFAULT_AB_PAIRS;
  if (pairs < MIN_AB_PAIRS) {
    throw new UserError('E_OPTION', `--pairs ${pairs}: the gate needs ${MIN_AB_PAIRS} repetitions of each build for a verdict on a change; give --pairs ${MIN_AB_PAIRS} or more`);
  }
  if (opts.candidateServerDelay && scenario.servers.kind !== 'builtin') {
    throw new UserError('E_OPTION', `--candidate-server-delay: ${scenario.file} does not use bench's built-in servers, which alone can add the delay. Drop the option, or use \`servers: builtin\``);
  }
  const out = opts.out ? path.resolve(opts.out) : defaultRunDir(scenario).replace(/([^/]+)$/, 'ab-$1');
  const scenarioFile = path.resolve(file);
  mkdirSync(path.join(out, 'runs'), { recursive: true });

  const lifecycle = watchSignals((signal) => process.stderr.write(`\nbench: ${signal} received, stopping the current run...\n`));
  try {
    const order = abOrder(pairs);
    const runs: Record<AbRole, { dir: string; result: RunResult }[]> = { baseline: [], candidate: [] };
    for (const [i, step] of order.entries()) {
      const name = `${String(i).padStart(2, '0')}-${step.role}`;
      const dir = path.join(out, 'runs', name);
      const delay = step.role === 'candidate' ? opts.candidateServerDelay : undefined;
      if (!opts.quiet) process.stderr.write(`bench ab: run ${i + 1}/${order.length}: ${step.role} (pair ${step.pair + 1})${delay ? `, server delay ${delay} ms` : ''}\n`);
      const argv = ['run', scenarioFile, '--repetitions', '1', '--out', dir, '--quiet', ...(delay ? ['--server-delay', `${delay}ms`] : [])];
      const code = await runBuild(builds[step.role], argv, lifecycle.signal);
      const signal = lifecycle.interruptedBy();
      if (signal) {
        process.stderr.write(`bench: interrupted; the runs so far are kept in ${displayPath(out)}\n`);
        return exitCodeForSignal(signal);
      }
      if (code.status === EXIT_CODES.userMistake && i < 2) {
        // The build refused the scenario or an option (e.g. an older build without a key): the user's to fix.
        rmSync(out, { recursive: true, force: true });
        throw new UserError('E_BUILD_REFUSED', `the ${step.role} build in ${builds[step.role]} refused \`bench ${argv.join(' ')}\`:\n${code.stderr.trim()}`);
      }
      if (code.status !== EXIT_CODES.ok) {
        throw new BenchError('E_AB_RUN_FAILED', `run ${name} of the ${step.role} build (${builds[step.role]}) exited ${code.status ?? code.signal}:\n${code.stderr.trim()}\nthe runs so far are kept in ${out}`);
      }
      runs[step.role].push({ dir: name, result: readResult(dir) });
    }

    const argv = process.argv.slice(2);
    const merged = {} as Record<AbRole, RunResult>;
    for (const role of ['baseline', 'candidate'] as const) {
      merged[role] = mergeRuns(
        runs[role].map((r) => r.result),
        {
          role,
          order: 'ABBA',
          pairs,
          builds,
          ...(opts.candidateServerDelay ? { candidateServerDelayMs: opts.candidateServerDelay } : {}),
          runs: runs[role].map((r) => path.join('runs', r.dir)),
        },
        argv,
      );
      const dir = path.join(out, role);
      mkdirSync(dir, { recursive: true });
      writeFileSync(path.join(dir, 'result.json'), JSON.stringify(merged[role], null, 1));
      await writeReport(dir);
    }
    const gate = applyGate(merged.candidate, merged.baseline, { ...opts, maxRegression: opts.maxRegression ?? DEFAULT_AB_MAX_REGRESSION, quiet: false });
    writeFileSync(path.join(out, 'gate.md'), renderGateMarkdown(gate, `bench ab: ${scenario.name}`));
    writeFileSync(path.join(out, 'gate.json'), JSON.stringify({ exitCode: gate.exitCode, family: gate.family, checks: gate.checks }, null, 1) + '\n');
    const rel = displayPath;
    process.stderr.write(
      `bench ab: ${pairs} pairs (ABBA) in ${rel(out)}\n  baseline  ${rel(path.join(out, 'baseline', 'result.json'))} (${builds.baseline})\n` +
        `  candidate ${rel(path.join(out, 'candidate', 'result.json'))} (${builds.candidate})\n  verdicts  ${rel(path.join(out, 'gate.md'))}\n`,
    );
    if (merged.baseline.run.status !== 'complete' || merged.candidate.run.status !== 'complete') return EXIT_CODES.internal;
    return gate.exitCode;
  } finally {
    lifecycle.dispose();
  }
}

/** A checkout of bench: `<dir>/src/bin.mjs` and its node_modules. */
function checkBuild(dir: string, flag: string): string {
  const abs = path.resolve(dir);
  if (!existsSync(path.join(abs, 'src', 'bin.mjs'))) {
    throw new UserError('E_OPTION', `${flag} ${dir}: no src/bin.mjs there; give a checkout of bench (e.g. \`git worktree add ../bench-main main\`, then npm ci in it)`);
  }
  if (!existsSync(path.join(abs, 'node_modules'))) {
    throw new UserError('E_OPTION', `${flag} ${dir}: no node_modules; run \`npm ci\` in ${dir} first`);
  }
  return abs;
}

/** One `bench run` of a build, in its own checkout; an abort passes SIGTERM on (it tears down and exits 143). */
function runBuild(build: string, argv: string[], signal: AbortSignal): Promise<{ status: number | null; signal: NodeJS.Signals | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(build, 'src', 'bin.mjs'), ...argv], { cwd: build, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString('utf8')).slice(-20_000);
    });
    const stop = () => child.kill('SIGTERM');
    signal.addEventListener('abort', stop, { once: true });
    child.on('error', reject);
    child.on('close', (status, sig) => {
      signal.removeEventListener('abort', stop);
      resolve({ status, signal: sig, stderr });
    });
  });
}
