/**
 * `bench report <run-dir>` and the end of `bench run`: result.json (+ raw.jsonl) -> report.html
 * and summary.md, each written atomically (temporary file + rename) so a reader never sees half.
 */
import { existsSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { UserError } from '../util/errors.ts';
import { renderReport } from './html.ts';
import { type RunResult, SCHEMA_VERSION } from '../results/model.ts';
import { readRawLog } from '../results/raw.ts';
import { renderSummaryMarkdown, renderSummaryText, summaryJson, type SummaryJson } from './summary.ts';

export interface WrittenReport {
  reportPath: string;
  summaryPath: string;
  /** Size of report.html in bytes. */
  bytes: number;
  /** The table printed after a run. */
  summaryText: string;
  /** `bench run --json`. */
  summaryJson: SummaryJson;
}

export function readResult(runDir: string): RunResult {
  const file = path.join(runDir, 'result.json');
  if (!existsSync(file)) {
    throw new UserError(
      'E_NO_RESULT',
      `${runDir}: no result.json here; give a directory written by \`bench run\` (reports/<scenario>/<timestamp>)`,
    );
  }
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(file, 'utf8'));
  } catch (cause) {
    throw new UserError('E_BAD_RESULT', `${file} is not valid JSON (${(cause as Error).message}); re-run the scenario`, { cause });
  }
  const version = (value as { schemaVersion?: unknown })?.schemaVersion;
  if (version !== SCHEMA_VERSION) {
    throw new UserError(
      'E_RESULT_VERSION',
      `${file} has schemaVersion ${JSON.stringify(version)}; this bench reads version ${SCHEMA_VERSION}: use the bench version that wrote it, or re-run the scenario`,
    );
  }
  return value as RunResult;
}

export function writeAtomically(file: string, content: string): void {
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    writeFileSync(tmp, content);
    renameSync(tmp, file);
  } catch (error) {
    if (existsSync(tmp)) unlinkSync(tmp);
    throw error;
  }
}

export async function writeReport(runDir: string): Promise<WrittenReport> {
  const result = readResult(runDir);
  const raw = readRawLog(path.join(runDir, 'raw.jsonl'));
  const html = renderReport(result, { raw: raw?.list, rawLog: raw });
  const reportPath = path.join(runDir, 'report.html');
  const summaryPath = path.join(runDir, 'summary.md');
  writeAtomically(reportPath, html);
  writeAtomically(summaryPath, renderSummaryMarkdown(result));
  return {
    reportPath,
    summaryPath,
    bytes: statSync(reportPath).size,
    summaryText: renderSummaryText(result),
    summaryJson: summaryJson(result),
  };
}
