/**
 * Scenario files in, resolved Scenarios out. Every mistake becomes one UserError:
 * `<file>:<line>:<col>: <key path>: <what is wrong>, expected <what>. <fix>`.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { LineCounter, parseDocument } from 'yaml';
import type { z } from 'zod';
import { PROTOCOLS, type Protocol } from '../drivers/types.ts';
import { UserError } from '../util/errors.ts';
import { formatPath, SourceMap, type AliasUse, type DocPath } from './locate.ts';
import { describeValue, KEY, message } from './messages.ts';
import { resolveScenario, ScenarioIssue } from './resolve.ts';
import { scenarioDocumentSchema } from './schema.ts';
import { closest, listOf } from './suggest.ts';
import type { Scenario, ScenarioOverrides } from './types.ts';
import { show } from './units.ts';

export type * from './types.ts';

/** Error codes of the scenario layer (UserError.code). */
export const E_SCENARIO = 'E_SCENARIO';
export const E_SCENARIO_FILE = 'E_SCENARIO_FILE';
export const E_OPTION = 'E_OPTION';

/**
 * Alias expansions a scenario may need (yaml's maxAliasCount): generous for sharing link settings
 * with `<<: *base`, far below what nested anchors (a billion-laughs file) would build in memory.
 */
export const MAX_ALIAS_EXPANSIONS = 1000;

/** Reads and resolves a scenario file; `overrides` are CLI flags and win over the file. */
export function loadScenario(file: string, overrides: ScenarioOverrides = {}): Scenario {
  checkOverrides(overrides);
  let text: string;
  try {
    if (statSync(file).isDirectory()) {
      throw new UserError(E_SCENARIO_FILE, `${file} is a directory, expected a scenario YAML file. ${available(file, true)}`);
    }
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if (err instanceof UserError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      throw new UserError(E_SCENARIO_FILE, `no such scenario file ${file}, expected a path to a scenario YAML file. ${available(file, false)}`);
    }
    throw new UserError(E_SCENARIO_FILE, `cannot read scenario file ${file}: ${(err as Error).message}`, { cause: err });
  }
  return parseScenario(text, file, overrides);
}

/** Parses scenario text; `file` names it in messages and gives the default scenario name. */
export function parseScenario(text: string, file: string, overrides: ScenarioOverrides = {}): Scenario {
  checkOverrides(overrides);
  const lines = new LineCounter();
  const doc = parseDocument(text, {
    lineCounter: lines,
    keepSourceTokens: true,
    uniqueKeys: true,
    prettyErrors: false,
    // `<<: *base` merge keys, so scenarios can share link settings between paths and phases.
    merge: true,
  });
  const map = new SourceMap(doc, lines);
  const fail = (at: { line: number; col: number }, where: DocPath, text: string): never => {
    const keyPath = formatPath(where);
    throw new UserError(E_SCENARIO, `${file}:${at.line}:${at.col}: ${keyPath ? `${keyPath}: ` : ''}${text}`);
  };

  const yamlError = doc.errors[0];
  if (yamlError) {
    const offset = yamlError.pos[0];
    const at = map.position(offset);
    if (yamlError.code === 'DUPLICATE_KEY') {
      const { path: where, key } = map.keyAt(offset) ?? { path: [], key: text.slice(yamlError.pos[0], yamlError.pos[1]) };
      fail(at, where, message(`duplicate key \`${key}\``, 'each key once per mapping', 'Remove or merge one of the two.'));
    }
    const what = yamlError.message.split('\n')[0]!.replace(/ at line \d+, column \d+.*$/, '').replace(/\.$/, '');
    fail(at, [], message(`invalid YAML: ${what}`, 'valid YAML', `Check the indentation and quoting on line ${at.line}.`));
  }

  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: MAX_ALIAS_EXPANSIONS });
  } catch (err) {
    // yaml refuses unresolvable aliases and alias bombs with a ReferenceError.
    if (!(err instanceof ReferenceError)) throw err;
    const uses = map.aliasUses();
    const unresolved = uses.find((u) => u.expansions === undefined);
    if (unresolved) {
      const name = unresolved.source;
      fail(unresolved.at, unresolved.path, message(`the alias \`*${name}\` has no anchor before it`, `an anchor \`&${name}\` earlier in the file`, `Put \`&${name}\` on the value to share, above this line, or correct the name.`));
    }
    const worst = uses.reduce<AliasUse | undefined>((a, u) => (a && a.expansions! >= u.expansions! ? a : u), undefined);
    if (!worst) throw err;
    fail(worst.at, worst.path, message(
      `the alias \`*${worst.source}\` stands for ${worst.expansions} alias expansions (aliases inside anchors multiply)`,
      `at most ${MAX_ALIAS_EXPANSIONS} alias expansions in the file`,
      'Write the shared values out, or alias only values that hold no aliases themselves.',
    ));
  }
  if (data === null || data === undefined) {
    fail({ line: 1, col: 1 }, [], message('the file is empty', 'a scenario mapping with at least `workloads:`', 'Start from scenarios/smoke.yaml.'));
  }

  if (typeof data !== 'object' || Array.isArray(data)) {
    const root = map.locate([]);
    fail(root, [], message(`the file holds ${describeValue(data)}`, 'a scenario mapping with keys such as `network:` and `workloads:`', 'Start from scenarios/smoke.yaml; a list of workloads goes under `workloads:`.'));
  }

  const parsed = scenarioDocumentSchema.safeParse(data);
  if (!parsed.success) {
    const issue = pickIssue(parsed.error.issues);
    const unknownKey = issue.code === 'unrecognized_keys' ? issue.keys[0] : undefined;
    const issuePath = issue.path as DocPath;
    const where = unknownKey !== undefined ? [...issuePath, unknownKey] : issuePath;
    const at = map.locate(issuePath, unknownKey);
    fail(at, where, fillKey(issue.message, where));
  }

  const defaultName = path.basename(file).replace(/\.ya?ml$/i, '');
  try {
    return resolveScenario({ doc: parsed.data!, file, defaultName, ...overrides });
  } catch (err) {
    if (!(err instanceof ScenarioIssue)) throw err;
    return fail(map.locate(err.path), err.path, fillKey(err.message, err.path));
  }
}

type Issue = z.core.$ZodIssue;

/**
 * The one issue to report. Unions are opened to the branch that matches the input's shape.
 * A misspelt key usually also makes a required key "missing": the unknown key, with its
 * "did you mean", is the better message, so it goes first; otherwise the first issue wins.
 */
function pickIssue(issues: readonly Issue[]): Issue {
  const flat = issues.flatMap((i) => openUnion(i));
  return flat.find((i) => i.code === 'unrecognized_keys') ?? flat[0]!;
}

function openUnion(issue: Issue): Issue[] {
  if (issue.code !== 'invalid_union' || issue.errors.length === 0) return [issue];
  // A branch whose only complaint is the input's type at the root is a branch the user did not mean.
  const meant = issue.errors.filter((branch) => !branch.every((i) => i.path.length === 0 && (i.code === 'invalid_type' || i.code === 'invalid_value')));
  if (meant.length === 0) return [issue];
  const branch = meant.find((b) => b.some((i) => i.path.length > 0 || i.code === 'unrecognized_keys' || i.code === 'custom')) ?? meant[0]!;
  return branch.flatMap((i) => openUnion({ ...i, path: [...issue.path, ...i.path] } as Issue));
}

function fillKey(text: string, where: DocPath): string {
  const key = [...where].reverse().find((s): s is string => typeof s === 'string') ?? 'value';
  return text.split(KEY).join(key);
}

function available(file: string, isDirectory: boolean): string {
  const dir = isDirectory ? file : existsSync(path.dirname(file)) ? path.dirname(file) : 'scenarios';
  let names: string[] = [];
  try {
    names = readdirSync(dir)
      .filter((n) => /\.ya?ml$/i.test(n))
      .sort()
      .map((n) => path.join(dir, n));
  } catch {
    names = [];
  }
  if (names.length === 0) return `No scenario files in ${dir}/.`;
  const guess = isDirectory ? undefined : closest(path.basename(file), names.map((n) => path.basename(n)));
  const hint = guess ? `Did you mean ${path.join(dir, guess)}? ` : '';
  return `${hint}Scenarios available: ${names.join(', ')}.`;
}

/** CLI flags are checked with the same kind of message as the file. */
export function checkOverrides(overrides: ScenarioOverrides): void {
  const flag = (name: string, text: string): never => {
    throw new UserError(E_OPTION, `--${name}: ${text}`);
  };
  const wholeNumber = (name: string, value: number | undefined, min: number, max: number, example: number) => {
    if (value === undefined) return;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      flag(name, message(`${show(value)} is not allowed`, `a whole number from ${min} to ${max}`, `Write e.g. \`--${name} ${example}\`.`));
    }
  };
  wholeNumber('repetitions', overrides.repetitions, 1, 1000, 3);
  wholeNumber('seed', overrides.seed, 0, 2 ** 32 - 1, 1);
  if (overrides.capture !== undefined && typeof overrides.capture !== 'boolean') flag('capture', message(`${show(overrides.capture)} is not allowed`, 'a flag without a value', 'Write `--capture`.'));
  const protocols = overrides.protocols;
  if (protocols === undefined) return;
  if (protocols.length === 0) flag('protocols', message('the list is empty', `one or more of ${PROTOCOLS.join(', ')}`, 'Write e.g. `--protocols h2,h3`.'));
  protocols.forEach((p: Protocol, i) => {
    if (!PROTOCOLS.includes(p)) {
      const guess = closest(String(p), PROTOCOLS, { ignoreCase: true });
      flag('protocols', message(`unknown protocol ${show(p)}`, `one or more of ${PROTOCOLS.join(', ')}`, guess ? `Did you mean \`${guess}\`?` : `Use ${listOf(PROTOCOLS)}, comma-separated.`));
    }
    if (protocols.indexOf(p) !== i) flag('protocols', message(`\`${p}\` is listed twice`, 'each protocol once', `Remove the second \`${p}\`.`));
  });
}
