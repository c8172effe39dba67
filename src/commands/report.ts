import { writeReport } from '../report/write.ts';
import { EXIT_CODES } from '../util/exit-codes.ts';

/** `bench report <run-dir>`: report.html and summary.md again from result.json (and raw.jsonl). */
export async function reportCommand(dir: string): Promise<number> {
  const written = await writeReport(dir);
  process.stderr.write(`bench: wrote ${written.reportPath}\n`);
  return EXIT_CODES.ok;
}
