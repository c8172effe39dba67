/**
 * Message pieces shared by the schema's error functions. Every message reads
 * `<what is wrong>, expected <what>. <fix>`; `KEY` stands for the offending key's name and is
 * filled in by the loader, which also puts `<file>:<line>:<col>: <key path>: ` in front.
 */
import { describeProblem, show } from './units.ts';

/** Placeholder for the key name; control characters so it never collides with user text. */
export const KEY = '\u0001key\u0001';

export function message(wrong: string, expected: string, fix: string): string {
  return describeProblem({ wrong, expected, fix });
}

/** What a YAML value is, in words: `the string "three"`, `a list`, `true`. */
export function describeValue(input: unknown): string {
  if (typeof input === 'string') return `the string ${JSON.stringify(input)}`;
  if (typeof input === 'number') return `the number ${show(input)}`;
  return show(input);
}

/**
 * For a value of the wrong type (or a missing one): `example` is a YAML value such as `200`.
 */
export function typeMessage(input: unknown, expected: string, example: string): string {
  if (input === undefined) return message('missing', expected, `Add \`${KEY}: ${example}\`.`);
  if (input === null) return message('has no value', expected, `Write e.g. \`${KEY}: ${example}\`.`);
  if (typeof input === 'string' && input.trim() !== '' && !Number.isNaN(Number(input)) && /^\d/.test(example)) {
    return message(`got ${describeValue(input)}`, expected, `Remove the quotes: \`${KEY}: ${input.trim()}\`.`);
  }
  return message(`got ${describeValue(input)}`, expected, `Write e.g. \`${KEY}: ${example}\`.`);
}
