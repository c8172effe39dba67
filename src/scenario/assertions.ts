/**
 * `assert:` expressions of a scenario, parsed against its workloads and the metric catalogue:
 *
 *   h3.multiplex.latency.p99 < h2.multiplex.latency.p99       another metric of the same run
 *   h3.handshake.cold.firstByte <= 2.2 rtt                     a value in the metric's unit
 *   h2.small.requestsPerSec >= 0.9 baseline                    a multiple of the baseline run's value
 *
 * `<protocol>.<workload name>.<metric>`; the metric is a catalogue id of the workload's type
 * (src/results/catalogue.ts). Pure: text in, an Assertion or one problem (with a suggestion) out.
 */
import { PROTOCOLS, type Protocol } from '../drivers/types.ts';
import type { Assertion, AssertionOperator, MetricRef } from '../results/assertions.ts';
import { findMetric, type MetricDefinition, workloadMetrics } from '../results/catalogue.ts';
import { message } from './messages.ts';
import { closest, listOf } from './suggest.ts';
import { parseDuration } from './units.ts';

export interface AssertionContext {
  workloads: ReadonlyArray<{ name: string; type: string }>;
  protocols: readonly Protocol[];
}

const EXAMPLE = '`h3.small.latency.p99 < h2.small.latency.p99`, `h3.setup.cold.firstByte <= 2.2 rtt` or `h2.small.requestsPerSec >= 0.9 baseline`';
const EXPRESSION = /^\s*(\S+?)\s*(<=|>=|<|>|==|=|!=)\s*(.+?)\s*$/;
const FACTOR = /^(\d+(?:\.\d+)?|\.\d+)\s*(?:[*x×]\s*)?(?=[A-Za-z])/;

type Parsed<T> = { ok: true; value: T } | { ok: false; problem: string };
const fail = (wrong: string, expected: string, fix: string): { ok: false; problem: string } => ({ ok: false, problem: message(wrong, expected, fix) });

function parseRef(text: string, ctx: AssertionContext): Parsed<{ ref: MetricRef; metric: MetricDefinition }> {
  const [protocol, workload, ...rest] = text.split('.');
  const metricId = rest.join('.');
  if (!protocol || !workload || !metricId) {
    return fail(`\`${text}\` does not name a metric`, '`<protocol>.<workload>.<metric>`, e.g. `h2.small.latency.p99`', `Write the protocol, the workload's name and the metric, separated by dots.`);
  }
  if (!(PROTOCOLS as readonly string[]).includes(protocol) || !ctx.protocols.includes(protocol as Protocol)) {
    const known = PROTOCOLS.includes(protocol as Protocol);
    const guess = closest(protocol, ctx.protocols, { ignoreCase: true });
    return fail(
      known ? `\`${protocol}\` is not among this scenario's protocols` : `unknown protocol \`${protocol}\` in \`${text}\``,
      `one of ${listOf(ctx.protocols)}`,
      guess ? `Did you mean \`${guess}\`?` : `Use one of ${listOf(ctx.protocols)}${known ? `, or add \`${protocol}\` to \`protocols\`` : ''}.`,
    );
  }
  const spec = ctx.workloads.find((w) => w.name === workload);
  if (!spec) {
    const names = ctx.workloads.map((w) => w.name);
    const guess = closest(workload, names);
    return fail(`no workload named \`${workload}\` in \`${text}\``, `a workload of this scenario: ${listOf(names)}`, guess ? `Did you mean \`${guess}\`?` : `Use the \`name:\` of a workload (it defaults to its type).`);
  }
  const metric = findMetric(spec.type, metricId);
  if (!metric) {
    const ids = workloadMetrics(spec.type).map((m) => m.id);
    // Ties go to the first in catalogue order: the headline metrics come first.
    const guess = closest(metricId, ids, { ignoreCase: true, onTie: 'first' });
    return fail(
      `unknown metric \`${metricId}\` for workload \`${workload}\` (${spec.type})`,
      `a metric of a ${spec.type} workload, e.g. ${listOf(ids.slice(0, 5))}`,
      guess ? `Did you mean \`${guess}\`?` : 'The metrics of each workload type are listed in docs/ARCHITECTURE.md (metric catalogue).',
    );
  }
  return { ok: true, value: { ref: { protocol: protocol as Protocol, workload, metric: metric.id }, metric } };
}

/** `2.2 rtt`, `150ms`, `0.5`: a value in the metric's unit. */
function parseValue(text: string, metric: MetricDefinition): Parsed<number> {
  const m = /^(-?\d+(?:\.\d+)?|-?\.\d+)\s*(.*)$/.exec(text);
  if (!m) return fail(`\`${text}\` is not a value, a metric or \`baseline\``, `a bound such as ${EXAMPLE}`, 'Compare with a number in the metric\'s unit, another metric, or a multiple of `baseline`.');
  const unit = m[2]!.trim();
  const number = Number(m[1]);
  if (metric.unit === 'ms') {
    const d = parseDuration(text);
    if (d.ok) return { ok: true, value: d.value };
    if (unit.toLowerCase() === 'rtt') {
      return fail(`\`${metric.id}\` is in ms, \`${text}\` in round trips`, 'a duration such as `150ms`', metric.id.endsWith('.firstByteMs') ? `Write a duration, or assert on \`${metric.id.replace(/Ms$/, '')}\` (in RTTs).` : 'Write a duration.');
    }
    return fail(`\`${text}\` is not a duration`, 'a duration such as `150ms` or `1.5s`', d.problem.fix);
  }
  const unitNames: Record<string, string[]> = { rtt: ['rtt', 'rtts'], 'req/s': ['req/s', 'rps'], 'bit/s': ['bit/s', 'bps'], 'Mbit/s': ['mbit/s', 'mbps'], count: [], streams: ['streams'], bytes: ['bytes', 'b'] };
  if (unit === '' || unitNames[metric.unit]!.includes(unit.toLowerCase())) return { ok: true, value: number };
  return fail(`\`${metric.id}\` is in ${metric.unit}, not \`${unit}\``, metric.unit === 'rtt' ? 'round trips, e.g. `2.2 rtt`' : `a plain number (${metric.unit})`, `Write \`${number}${metric.unit === 'rtt' ? ' rtt' : ''}\`.`);
}

export function parseAssertion(text: string, level: Assertion['level'], ctx: AssertionContext): Parsed<Assertion> {
  const m = EXPRESSION.exec(text);
  if (!m) return fail(`\`${text}\` is not a comparison`, `\`<metric> <op> <bound>\`, e.g. ${EXAMPLE}`, 'Use one of <, <=, > or >= between a metric and its bound.');
  const [, lhs, op, rhs] = m as unknown as [string, string, string, string];
  if (op === '=' || op === '==' || op === '!=') {
    return fail(`\`${op}\` cannot hold for measured values`, 'one of `<`, `<=`, `>` or `>=`', 'Measured values vary: bound them from one side, e.g. `<= 2.2 rtt`.');
  }
  const subject = parseRef(lhs, ctx);
  if (!subject.ok) return subject;
  const operator = op as AssertionOperator;
  const base = { text: text.trim(), level, subject: subject.value.ref, operator };

  const factorMatch = FACTOR.exec(rhs);
  const factor = factorMatch ? Number(factorMatch[1]) : 1;
  const rest = factorMatch ? rhs.slice(factorMatch[0].length).trim() : rhs;
  if (rest === 'baseline') return { ok: true, value: { ...base, bound: { kind: 'baseline', factor } } };
  if (/^[A-Za-z][\w-]*\.[\w-]+\.\S+$/.test(rest)) {
    const other = parseRef(rest, ctx);
    if (!other.ok) return other;
    if (other.value.metric.unit !== subject.value.metric.unit) {
      return fail(`\`${lhs}\` (${subject.value.metric.unit}) and \`${rest}\` (${other.value.metric.unit}) are in different units`, 'two metrics of the same unit', 'Compare latency with latency, rates with rates.');
    }
    return { ok: true, value: { ...base, bound: { kind: 'metric', factor, ref: other.value.ref } } };
  }
  if (factorMatch && /^[A-Za-z]\w*$/.test(rest) && closest(rest, ['baseline'])) {
    return fail(`unknown bound \`${rest}\``, '`baseline`, a metric or a value', 'Did you mean `baseline`?');
  }
  const value = parseValue(rhs, subject.value.metric);
  if (!value.ok) return value;
  return { ok: true, value: { ...base, bound: { kind: 'value', value: value.value, unit: subject.value.metric.unit } } };
}
