/**
 * Writes scenarios/schema.json, the JSON Schema editors use for completion and hover help
 * (`# yaml-language-server: $schema=./schema.json` at the top of every scenario).
 * Run `npm run schema` after changing src/scenario/schema.ts; a test checks the file is current.
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { scenarioDocumentSchema } from './schema.ts';

export const SCHEMA_PATH = fileURLToPath(new URL('../../scenarios/schema.json', import.meta.url));

/** The JSON Schema of the scenario file format, as text (what `npm run schema` writes). */
export function scenarioJsonSchema(): string {
  const schema = z.toJSONSchema(scenarioDocumentSchema, { io: 'input', target: 'draft-7', unrepresentable: 'throw' });
  const document = {
    $schema: schema.$schema,
    title: 'bench scenario',
    ...schema,
  };
  return `${JSON.stringify(document, null, 2)}\n`;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  writeFileSync(SCHEMA_PATH, scenarioJsonSchema());
  console.log(`wrote ${SCHEMA_PATH}`);
}
