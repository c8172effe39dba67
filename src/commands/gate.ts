import { appendFileSync, writeFileSync } from 'node:fs';
import { displayPath } from '../cli/display.ts';
import { differentScenarios } from '../compare/environment.ts';
import { loadRuns } from '../compare/runs.ts';
import { evaluateGate, type GateEvaluation, isBlocking } from '../gate/evaluate.ts';
import { DEFAULT_MAX_REGRESSION, regressionAssertions } from '../gate/regression.ts';
import { renderGateMarkdown, renderGateText, renderJUnit } from '../gate/report.ts';
import type { RunResult } from '../results/model.ts';
import { UserError } from '../util/errors.ts';
import { EXIT_CODES } from '../util/exit-codes.ts';

export interface GateOutputOptions {
  /** Fraction, e.g. 0.1 for `--max-regression 10%`. */
  maxRegression?: number;
  junit?: string;
  /** Markdown file; GITHUB_STEP_SUMMARY (appended) when not given and set. */
  summary?: string;
  quiet?: boolean;
}

/**
 * The candidate's own assertions (from its scenario), plus with a baseline one per headline metric
 * at the maximum regression; prints and writes the verdicts; exit 1 when an error-level check fails.
 */
export function applyGate(candidate: RunResult, baseline: RunResult | undefined, opts: GateOutputOptions): GateEvaluation & { exitCode: number } {
  const assertions = [
    ...(candidate.scenario.assertions ?? []),
    ...(baseline ? regressionAssertions(candidate, baseline, opts.maxRegression ?? DEFAULT_MAX_REGRESSION) : []),
  ];
  const evaluation = evaluateGate(assertions, candidate, baseline, { seed: candidate.run.seed });
  const { checks } = evaluation;
  if (checks.length === 0) return { ...evaluation, exitCode: EXIT_CODES.ok };
  if (!opts.quiet) process.stderr.write(renderGateText(evaluation) + '\n');
  if (opts.junit) {
    writeFileSync(opts.junit, renderJUnit(evaluation));
    process.stderr.write(`bench: JUnit report in ${displayPath(opts.junit)}\n`);
  }
  const markdown = renderGateMarkdown(evaluation, `bench gate: ${candidate.scenario.name}`);
  if (opts.summary) writeFileSync(opts.summary, markdown);
  else if (process.env.GITHUB_STEP_SUMMARY) appendFileSync(process.env.GITHUB_STEP_SUMMARY, markdown);
  return { ...evaluation, exitCode: checks.some(isBlocking) ? EXIT_CODES.regression : EXIT_CODES.ok };
}

export interface GateCommandOptions extends GateOutputOptions {
  force?: boolean;
}

/** `bench gate <baseline> <candidate>`: the gate over results made elsewhere. */
export async function gateCommand(baselineInput: string, candidateInput: string, opts: GateCommandOptions): Promise<number> {
  const [baseline, candidate] = loadRuns([baselineInput, candidateInput], ['baseline', 'candidate']);
  const reason = differentScenarios([baseline!, candidate!]);
  if (reason && !opts.force) {
    throw new UserError('E_DIFFERENT_SCENARIOS', `${reason}: a gate across scenarios compares different questions. Gate runs of one scenario, or pass --force`);
  }
  return applyGate(candidate!.result, baseline!.result, opts).exitCode;
}
