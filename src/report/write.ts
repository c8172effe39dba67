/**
 * `bench report <run-dir>` and the end of `bench run`: result.json (+ raw.jsonl) -> report.html
 * and summary.md, each written atomically (temporary file + rename) so a reader never sees half.
 */
import { existsSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { renderReport } from './html.ts';
import { readResult, resultPath } from '../results/read.ts';
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

/** `input`: a run directory or its result.json; report.html and summary.md go beside it. */
export async function writeReport(input: string): Promise<WrittenReport> {
  const file = resultPath(input);
  const result = readResult(file);
  const runDir = path.dirname(file);
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
