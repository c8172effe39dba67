/**
 * The catalogue of bad scenarios: every file in test/fixtures/bad-scenarios/NAME.yaml has its exact
 * expected message (position included) in NAME.expected.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadScenario } from '../../src/scenario/load.ts';
import { UserError } from '../../src/util/errors.ts';

const DIR = 'test/fixtures/bad-scenarios';
const cases = readdirSync(DIR)
  .filter((f) => f.endsWith('.yaml'))
  .sort()
  .map((f) => f.replace(/\.yaml$/, ''));

function messageOf(fn: () => unknown): { message: string; error: unknown } {
  try {
    fn();
  } catch (error) {
    return { message: (error as Error).message, error };
  }
  throw new Error('the scenario loaded, but it should have been rejected');
}

describe('bad scenarios catalogue', () => {
  it('has at least 25 cases, each with an expected message', () => {
    expect(cases.length).toBeGreaterThanOrEqual(25);
    for (const name of cases) expect(existsSync(`${DIR}/${name}.expected`), `${name}.expected`).toBe(true);
  });

  it.each(cases)('%s', (name) => {
    const expected = readFileSync(`${DIR}/${name}.expected`, 'utf8').trimEnd();
    // A fixture that conflicts with a command-line flag says so on a line `# run with: --flag`.
    const capture = /^# run with: --capture$/m.test(readFileSync(`${DIR}/${name}.yaml`, 'utf8'));
    const { message, error } = messageOf(() => loadScenario(`${DIR}/${name}.yaml`, capture ? { capture } : {}));
    expect(error).toBeInstanceOf(UserError);
    expect((error as UserError).code).toBe('E_SCENARIO');
    expect(message).toBe(expected);
    // One line, starting with file:line:col.
    expect(message).not.toContain('\n');
    expect(message).toMatch(new RegExp(`^${DIR}/${name}\\.yaml:\\d+:\\d+: `));
  });
});

describe('scenario files that are not there', () => {
  const available = readdirSync('scenarios')
    .filter((f) => f.endsWith('.yaml'))
    .sort()
    .map((f) => `scenarios/${f}`)
    .join(', ');

  it('names the missing file, suggests the nearest and lists the scenarios', () => {
    const { message, error } = messageOf(() => loadScenario('scenarios/smok.yaml'));
    expect((error as UserError).code).toBe('E_SCENARIO_FILE');
    expect(message).toBe(
      `no such scenario file scenarios/smok.yaml, expected a path to a scenario YAML file. Did you mean scenarios/smoke.yaml? Scenarios available: ${available}.`,
    );
  });

  it('looks in scenarios/ when the directory does not exist either', () => {
    const { message } = messageOf(() => loadScenario('nowhere/x.yaml'));
    expect(message).toBe(`no such scenario file nowhere/x.yaml, expected a path to a scenario YAML file. Scenarios available: ${available}.`);
  });

  it('says so when given a directory', () => {
    const { message } = messageOf(() => loadScenario('scenarios'));
    expect(message).toBe(`scenarios is a directory, expected a scenario YAML file. Scenarios available: ${available}.`);
  });
});
