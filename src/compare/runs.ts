/**
 * The runs a comparison reads: each result.json (or run directory) validated by the one reader,
 * and a label for each: the user's, or the scenario, date and commit that tell them apart.
 */
import { readResult, resultPath } from '../results/read.ts';
import type { RunResult } from '../results/model.ts';
import { UserError } from '../util/errors.ts';

export interface LabelledRun {
  label: string;
  /** The result.json it was read from. */
  file: string;
  result: RunResult;
}

/** "smoke-loopback 2026-11-29 10:00:41 UTC 7b0e9e28bcd5". */
export function defaultLabel(result: RunResult): string {
  const d = new Date(result.run.startedAt);
  const date = Number.isNaN(d.getTime()) ? result.run.startedAt : `${d.toISOString().slice(0, 19).replace('T', ' ')} UTC`;
  return [result.scenario.name, date, result.tool.commit].filter(Boolean).join(' ');
}

export function loadRuns(inputs: readonly string[], labels: readonly string[] = []): LabelledRun[] {
  if (labels.length > 0 && labels.length !== inputs.length) {
    throw new UserError(
      'E_OPTION',
      `--label given ${labels.length} time(s) for ${inputs.length} runs; give one --label per run, in the same order, or none`,
    );
  }
  const runs = inputs.map((input, i) => {
    const file = resultPath(input);
    const result = readResult(file);
    return { label: labels[i] ?? defaultLabel(result), file, result };
  });
  // Two runs started in the same minute from the same commit would share a label.
  const seen = new Map<string, number>();
  for (const run of runs) {
    const n = (seen.get(run.label) ?? 0) + 1;
    seen.set(run.label, n);
    if (n > 1) run.label = `${run.label} (${n})`;
  }
  return runs;
}
