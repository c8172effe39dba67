import { existsSync } from 'node:fs';
import path from 'node:path';
import { writeReport } from '../report/write.ts';
import { UserError } from '../util/errors.ts';

export async function reportCommand(dir: string): Promise<number> {
  const resultPath = path.join(dir, 'result.json');
  if (!existsSync(resultPath)) {
    throw new UserError('E_NO_RESULT', `${dir}: no result.json here; give a directory written by \`bench run\` (reports/<scenario>/<timestamp>)`);
  }
  const written = await writeReport(dir);
  process.stderr.write(`bench: wrote ${written.reportPath}\n`);
  return 0;
}
