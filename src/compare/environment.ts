/**
 * What differs between runs besides the build: scenario, network backend and emulator fidelity,
 * tool and dependency versions, the servers, the machine. A comparison lists every difference,
 * and refuses runs of different scenarios unless forced: their figures do not answer one question.
 */
import type { RunResult } from '../results/model.ts';
import { formatValue } from '../report/format.ts';

export interface EnvironmentDifference {
  /** What differs, e.g. "kernel", "dependency undici", "network rtt=100ms backend". */
  field: string;
  /** The value in each run, in run order ("—" where a run does not say). */
  values: string[];
}

const MISSING = '\u2014';

/**
 * Scenario keys that may differ between runs of one scenario: command-line overrides, where the
 * file lies, and its prose. They are listed as differences, but do not make another scenario.
 */
const SAME_SCENARIO_DESPITE = new Set(['file', 'repetitions', 'seed', 'protocols', 'description']);

function stable(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => a.localeCompare(b))) : v,
  );
}

/** A scenario value for comparison; a key a newer bench added (e.g. `assertions: []`) equals its absence in an older result. */
function scenarioValue(v: unknown): string | undefined {
  return v === undefined || (Array.isArray(v) && v.length === 0) ? undefined : stable(v);
}

/** The resolved scenarios' keys whose values differ (SAME_SCENARIO_DESPITE left out); empty when they are the same scenario. */
export function scenarioKeysThatDiffer(a: RunResult['scenario'], b: RunResult['scenario']): string[] {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...keys].filter((k) => !SAME_SCENARIO_DESPITE.has(k) && scenarioValue(a[k]) !== scenarioValue(b[k])).sort();
}

/** Why these runs are not runs of one scenario (undefined when they are). */
export function differentScenarios(runs: readonly { label: string; result: RunResult }[]): string | undefined {
  const [first, ...rest] = runs;
  for (const other of rest) {
    const keys = scenarioKeysThatDiffer(first!.result.scenario, other.result.scenario);
    if (keys.length === 0) continue;
    const rest = keys.filter((k) => k !== 'name');
    const names =
      first!.result.scenario.name === other.result.scenario.name
        ? `scenario "${first!.result.scenario.name}" with different ${rest.join(', ')}`
        : `scenarios "${first!.result.scenario.name}" and "${other.result.scenario.name}"${rest.length ? ` (${rest.join(', ')} differ)` : ''}`;
    return `"${first!.label}" and "${other.label}" ran ${names}`;
  }
  return undefined;
}

type Field = [string, (r: RunResult) => string | undefined];

function fieldsOf(runs: readonly RunResult[]): Field[] {
  const fields: Field[] = [
    ['scenario', (r) => r.scenario.name],
    ['scenario file', (r) => r.scenario.file],
    ['repetitions', (r) => String(new Set(r.cells.map((c) => c.repetition)).size)],
    ['protocols', (r) => [...new Set(r.cells.map((c) => c.protocol))].sort().join(', ')],
    ['seed', (r) => String(r.run.seed)],
    ['status', (r) => r.run.status],
    ['injected server delay (--server-delay)', (r) => (r.run.serverDelayMs ? `${r.run.serverDelayMs} ms` : 'none')],
    ['bench version', (r) => r.tool.version],
    ['bench commit', (r) => r.tool.commit],
    ['hostname', (r) => r.environment.hostname],
    ['CPU', (r) => `${r.environment.cpu.model} (${r.environment.cpu.cores} cores)`],
    ['memory', (r) => `${(r.environment.memoryBytes / 2 ** 30).toFixed(1)} GiB`],
    ['kernel', (r) => r.environment.kernel],
    ['platform', (r) => r.environment.platform],
    ['Node', (r) => r.environment.node],
    ['emulator backend', (r) => (r.environment.emulator.shaped ? r.environment.emulator.backend : 'none (not shaped)')],
  ];
  const names = (pick: (r: RunResult) => string[]) => [...new Set(runs.flatMap(pick))].sort();
  for (const scenarioKey of names((r) => Object.keys(r.scenario)).filter((k) => !['name', 'file'].includes(k))) {
    fields.push([`scenario ${scenarioKey}`, (r) => scenarioValue(r.scenario[scenarioKey])]);
  }
  for (const label of names((r) => r.networks.map((n) => n.label))) {
    fields.push([`network ${label} backend`, (r) => r.networks.find((n) => n.label === label)?.backend]);
  }
  for (const dep of names((r) => Object.keys(r.tool.dependencies))) {
    fields.push([`dependency ${dep}`, (r) => r.tool.dependencies[dep]]);
  }
  for (const protocol of names((r) => Object.keys(r.servers ?? {}))) {
    fields.push([`${protocol} server`, (r) => r.servers?.[protocol as keyof NonNullable<RunResult['servers']>]?.name]);
  }
  const fidelity = (pick: (f: NonNullable<RunResult['environment']['emulator']['fidelity']>) => string): Field[1] => (r) => {
    const f = r.environment.emulator.fidelity;
    return f ? pick(f) : undefined;
  };
  fields.push(
    ['emulator fidelity measured', fidelity((f) => f.measuredAt)],
    ['emulator one-way delay (target)', fidelity((f) => `${formatValue(f.oneWayDelayMeanMs, 'ms')} (${formatValue(f.target.delayMs, 'ms')})`)],
    ['emulator jitter', fidelity((f) => formatValue(f.jitterStdMs, 'ms'))],
    ['emulator loss', fidelity((f) => `${(f.loss * 100).toFixed(2)}%`)],
    ['emulator rate', fidelity((f) => formatValue(f.rateBps, 'bit/s'))],
    ['emulator scheduler lateness p99', fidelity((f) => formatValue(f.schedulerLatenessP99Ms, 'ms'))],
    ['emulator fidelity checks', fidelity((f) => (Object.values(f.pass).every(Boolean) ? 'all pass' : `failed: ${Object.keys(f.pass).filter((k) => !f.pass[k]).join(', ')}`))],
  );
  return fields;
}

/** Every field whose value is not the same in all runs. */
export function environmentDifferences(runs: readonly RunResult[]): EnvironmentDifference[] {
  const out: EnvironmentDifference[] = [];
  for (const [field, pick] of fieldsOf(runs)) {
    const values = runs.map((r) => pick(r) ?? MISSING);
    if (values.some((v) => v !== values[0])) out.push({ field, values });
  }
  return out;
}
