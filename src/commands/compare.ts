import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { displayPath } from '../cli/display.ts';
import { buildComparison, type Comparison } from '../compare/comparison.ts';
import { differentScenarios } from '../compare/environment.ts';
import { renderComparePage } from '../compare/html.ts';
import { loadRuns } from '../compare/runs.ts';
import { renderCompareMarkdown, renderCompareText } from '../compare/text.ts';
import { writeAtomically } from '../report/write.ts';
import { UserError } from '../util/errors.ts';
import { EXIT_CODES } from '../util/exit-codes.ts';

export interface CompareCommandOptions {
  /** One per run, in order. */
  label?: string[];
  out?: string;
  force?: boolean;
  json?: boolean;
  quiet?: boolean;
}

/** Checks every input and the scenarios before anything is written; a mistake leaves nothing behind. */
export function prepareComparison(inputs: readonly string[], opts: Pick<CompareCommandOptions, 'label' | 'force'>): Comparison {
  if (inputs.length < 2) {
    throw new UserError('E_OPTION', 'bench compare needs at least two runs: a baseline and one or more candidates (result.json files or run directories)');
  }
  const runs = loadRuns(inputs, opts.label ?? []);
  const reason = differentScenarios(runs);
  if (reason && !opts.force) {
    throw new UserError(
      'E_DIFFERENT_SCENARIOS',
      `${reason}: their figures answer different questions. Compare runs of one scenario, or pass --force to compare them anyway`,
    );
  }
  return buildComparison(runs, reason ? { forcedAcrossScenarios: reason } : {});
}

export async function compareCommand(inputs: string[], opts: CompareCommandOptions): Promise<number> {
  const comparison = prepareComparison(inputs, opts);
  const dir = path.resolve(opts.out ?? path.join('reports', 'compare', new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19)));
  mkdirSync(dir, { recursive: true });
  const html = path.join(dir, 'compare.html');
  const md = path.join(dir, 'compare.md');
  writeAtomically(html, renderComparePage(comparison));
  writeAtomically(md, renderCompareMarkdown(comparison));
  if (opts.json) process.stdout.write(JSON.stringify({ ...comparison, runs: comparison.runs.map(({ label, file }) => ({ label, file })) }, null, 2) + '\n');
  else if (!opts.quiet) process.stdout.write(renderCompareText(comparison) + '\n');
  const rel = displayPath;
  process.stderr.write(`bench: comparison in ${rel(dir)}\n  page      ${rel(html)}\n  markdown  ${rel(md)}\n`);
  return EXIT_CODES.ok;
}
