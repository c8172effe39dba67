/**
 * From a validated scenario document to the resolved Scenario: profiles expanded, overrides
 * applied in order (profile < network link/up/down < path link/up/down), phases turned into
 * partial direction models, sweeps expanded into one network per value, servers checked against
 * the protocols. Mistakes found here are ScenarioIssues with the document path they concern.
 */
import { DIRECTION_DEFAULTS, type DirectionModel, type NetworkSpec, type PathModel, type Phase } from '../../netem/model.ts';
import { getProfile } from '../../netem/profiles.ts';
import { parseRateTrace } from '../../netem/userspace/model/bottleneck.ts';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { PROTOCOLS, type Protocol } from '../drivers/types.ts';
import { DEFAULT_STREAM_SCHEDULING } from '../../servers/handler-types.ts';
import { DEFAULT_TLS_KEY } from '../tls/key-types.ts';
import { UserError } from '../util/errors.ts';
import type { Assertion } from '../results/assertions.ts';
import { parseAssertion } from './assertions.ts';
import { message } from './messages.ts';
import { lossModelOf, NAME_PATTERN, type DirectionInput, type ScenarioDocument, type ShapedNetworkInput, type SweepInput } from './schema.ts';
import { PLACEHOLDER_NAMES, unknownPlaceholder } from './placeholders.ts';
import { closest, listOf } from './suggest.ts';
import { findMetric, headlineMetrics } from '../results/catalogue.ts';
import type { StudyReference } from '../results/reference.ts';
import { SWEEP_KEYS, type CommandServerSpec, type NetworkVariant, type Scenario, type ServersSpec, type SweepKey, type WorkloadSpec } from './types.ts';
import { tidy } from './units.ts';

export type { DocPath } from "./locate.ts";
import type { DocPath } from "./locate.ts";

/** A mistake found after schema validation, with the path of the node it concerns. */
export class ScenarioIssue extends Error {
  constructor(
    readonly path: DocPath,
    message: string,
  ) {
    super(message);
  }
}

/** Applies the keys set in `input` onto `base` (a new object). */
export function applyDirection(base: DirectionModel, input: DirectionInput | undefined): DirectionModel {
  if (!input) return base;
  const next: DirectionModel = { ...base };
  if (input.delay !== undefined) next.delayMs = input.delay;
  if (input.jitter !== undefined) next.jitterMs = input.jitter;
  if (input.jitterDistribution !== undefined) next.jitterDistribution = input.jitterDistribution;
  if (input.jitterCorrelation !== undefined) next.jitterCorrelation = input.jitterCorrelation;
  const loss = lossModelOf(input, base.loss);
  if (loss) next.loss = loss;
  if (input.duplicate !== undefined) next.duplicate = input.duplicate;
  if (input.reorder !== undefined) next.reorder = input.reorder;
  if (input.reorderCorrelation !== undefined) next.reorderCorrelation = input.reorderCorrelation;
  if (input.corrupt !== undefined) next.corrupt = input.corrupt;
  if (input.rate !== undefined) {
    if (input.rate === null) delete next.rateBps;
    else next.rateBps = input.rate;
  }
  if (input.queue !== undefined) next.queueLimitPackets = input.queue;
  if (input.queueBytes !== undefined) next.queueLimitBytes = input.queueBytes;
  if (input.blackhole !== undefined) next.blackhole = input.blackhole;
  if (input.rateTrace !== undefined) next.rateTrace = input.rateTrace;
  return next;
}

/** The keys whose values differ between two direction models (what a phase changes). */
function changedKeys(before: DirectionModel, after: DirectionModel): Partial<DirectionModel> | undefined {
  const diff: Partial<DirectionModel> = {};
  const keys = new Set([...Object.keys(before), ...Object.keys(after)]) as Set<keyof DirectionModel>;
  for (const key of keys) {
    if (JSON.stringify(before[key]) !== JSON.stringify(after[key])) (diff as Record<string, unknown>)[key] = after[key];
  }
  return Object.keys(diff).length > 0 ? diff : undefined;
}

const DEFAULT_PATH = 'primary';

function resolveShaped(input: ShapedNetworkInput, scenarioDir: string): NetworkSpec & { kind: 'shaped' } {
  const at = (...rest: DocPath): DocPath => ['network', ...rest];
  rejectRateTracesOffUserspace(input);
  const net = withTraceFiles(input, scenarioDir);
  const profile = net.profile !== undefined ? getProfile(net.profile) : undefined;
  const baseUp = applyDirection(applyDirection(profile?.up ?? DIRECTION_DEFAULTS, net.link), net.up);
  const baseDown = applyDirection(applyDirection(profile?.down ?? DIRECTION_DEFAULTS, net.link), net.down);

  const pathInputs: Array<{ name: string; link?: DirectionInput; up?: DirectionInput; down?: DirectionInput }> = net.paths ?? [
    { name: DEFAULT_PATH },
  ];
  const paths: PathModel[] = pathInputs.map((p, i) => {
    const first = pathInputs.findIndex((q) => q.name === p.name);
    if (first !== i) {
      throw new ScenarioIssue(at('paths', i, 'name'), message(`path name \`${p.name}\` is already used by paths[${first}]`, 'unique path names', 'Rename one of them.'));
    }
    return {
      name: p.name,
      up: applyDirection(applyDirection(baseUp, p.link), p.up),
      down: applyDirection(applyDirection(baseDown, p.link), p.down),
    };
  });
  const pathNames = paths.map((p) => p.name);

  if (net.backend === 'kernel') {
    if (net.jitterOrder === 'fifo') {
      throw new ScenarioIssue(at('jitterOrder'), message('`jitterOrder: fifo` needs the userspace backend (netem gives each packet its own delay)', '`backend: userspace` or `auto`', 'Set `backend: userspace`, or remove `jitterOrder`.'));
    }
    net.phases.forEach((ph, i) => {
      if (ph.rebind) throw new ScenarioIssue(at('phases', i, 'rebind'), message('`rebind` needs the userspace backend', '`backend: userspace` or `auto`', 'Set `backend: userspace` or remove `rebind`.'));
    });
  }

  if (net.pacing === 'off' && net.congestionControl === 'bbr') {
    throw new ScenarioIssue(at('pacing'), message('`pacing: off` cannot hold for BBR', 'a congestion control that can send unpaced (cubic or reno)', 'BBR paces by design: set `congestionControl: cubic`, or `pacing: default`/`on`.'));
  }

  // Phases are cumulative: each one is expressed as the change from the state the previous left.
  const state = new Map(paths.map((p) => [p.name, { up: p.up, down: p.down }]));
  const order = net.phases.map((ph, index) => ({ ph, index })).sort((a, b) => a.ph.at - b.ph.at || a.index - b.index);
  const phases: Phase[] = [];
  for (const { ph, index } of order) {
    if (ph.path !== undefined && !pathNames.includes(ph.path)) {
      throw new ScenarioIssue(at('phases', index, 'path'), message(`unknown path \`${ph.path}\``, `one of the network's paths: ${pathNames.join(', ')}`, `Use one of ${listOf(pathNames)}, or leave \`path\` out to change every path.`));
    }
    if (!ph.link && !ph.up && !ph.down && !ph.rebind) {
      throw new ScenarioIssue(at('phases', index), message('this phase changes nothing', 'at least one of `link`, `up`, `down` or `rebind`', 'Add e.g. `link: {loss: 5%}`.'));
    }
    const targets = ph.path !== undefined ? [ph.path] : pathNames;
    let up: Partial<DirectionModel> | undefined;
    let down: Partial<DirectionModel> | undefined;
    for (const name of targets) {
      const current = state.get(name)!;
      const nextUp = applyDirection(applyDirection(current.up, ph.link), ph.up);
      const nextDown = applyDirection(applyDirection(current.down, ph.link), ph.down);
      for (const [dir, next, before] of [['up', nextUp, current.up], ['down', nextDown, current.down]] as const) {
        if (next.rateTrace !== undefined && next.rateBps !== before.rateBps) {
          const key = ph[dir]?.rate !== undefined ? dir : 'link';
          throw new ScenarioIssue(at('phases', index, key, 'rate'), message(`path \`${name}\` follows a rate trace ${dir === 'up' ? 'up' : 'down'}, which a \`rate\` cannot change`, 'a `rateTrace` in the phase, or no `rate`', 'Give the phase a `rateTrace` of its own, or remove `rate`.'));
        }
      }
      // With several paths the phase carries the values it sets (the same for every path).
      up = { ...up, ...changedKeys(current.up, nextUp) };
      down = { ...down, ...changedKeys(current.down, nextDown) };
      state.set(name, { up: nextUp, down: nextDown });
    }
    const phase: Phase = { atMs: ph.at };
    if (ph.path !== undefined) phase.path = ph.path;
    if (up && Object.keys(up).length > 0) phase.up = up;
    if (down && Object.keys(down).length > 0) phase.down = down;
    if (ph.rebind) phase.rebind = { ...ph.rebind };
    phases.push(phase);
  }

  return {
    kind: 'shaped',
    backend: net.backend,
    ...(net.profile !== undefined && { profile: net.profile }),
    mtu: net.mtu,
    congestionControl: net.congestionControl,
    pacing: net.pacing,
    ...(net.jitterOrder !== 'reorder' && { jitterOrder: net.jitterOrder }),
    paths,
    phases,
  };
}

/** Every direction input of a shaped network that may name a rate trace, with where it is written. */
function directionInputs(net: ShapedNetworkInput): Array<{ where: DocPath; input: DirectionInput | undefined; set: (d: DirectionInput) => void }> {
  const out: Array<{ where: DocPath; input: DirectionInput | undefined; set: (d: DirectionInput) => void }> = [];
  const keys = ['link', 'up', 'down'] as const;
  for (const key of keys) out.push({ where: ['network', key], input: net[key], set: (d) => (net[key] = d) });
  net.paths?.forEach((p, i) => {
    for (const key of keys) out.push({ where: ['network', 'paths', i, key], input: p[key], set: (d) => (p[key] = d) });
  });
  net.phases.forEach((ph, i) => {
    for (const key of keys) out.push({ where: ['network', 'phases', i, key], input: ph[key], set: (d) => (ph[key] = d) });
  });
  return out;
}

function rejectRateTracesOffUserspace(net: ShapedNetworkInput): void {
  if (net.backend !== 'kernel') return;
  for (const { where, input } of directionInputs(net)) {
    if (input?.rateTrace !== undefined) {
      throw new ScenarioIssue([...where, 'rateTrace'], message('`rateTrace` needs the userspace backend', '`backend: userspace` or `auto`', 'Set `backend: userspace` or remove `rateTrace`.'));
    }
  }
}

/**
 * A copy of the network whose rate traces are absolute paths, resolved against the scenario file as
 * every file a scenario names; each is read and parsed now, so a missing or malformed trace is a
 * mistake in the scenario (with its position), found before anything starts.
 */
function withTraceFiles(input: ShapedNetworkInput, scenarioDir: string): ShapedNetworkInput {
  const net: ShapedNetworkInput = structuredClone(input);
  for (const { where, input: d, set } of directionInputs(net)) {
    if (d?.rateTrace === undefined) continue;
    if (d.rate !== undefined && d.rate !== null) {
      throw new ScenarioIssue([...where, 'rate'], message('`rate` and `rateTrace` both set the bottleneck, and the trace would win', 'one of them', 'Remove `rate` (the trace sets the rate), or remove `rateTrace`.'));
    }
    const expected = 'a Mahimahi trace file (one delivery opportunity per line, in ms)';
    const trace = readUserFile(path.resolve(scenarioDir, d.rateTrace), d.rateTrace, [...where, 'rateTrace'], expected);
    try {
      parseRateTrace(trace.text, d.rateTrace);
    } catch (error) {
      throw new ScenarioIssue([...where, 'rateTrace'], message((error as Error).message, expected, "Point `rateTrace` at a trace such as the repository's traces/lte-drive.down."));
    }
    set({ ...d, rateTrace: trace.file });
  }
  return net;
}

const SWEEP_UNITS: Record<SweepKey, 'ms' | 'fraction' | 'bps'> = { rtt: 'ms', delay: 'ms', jitter: 'ms', loss: 'fraction', rate: 'bps' };

function showSweepValue(key: SweepKey, value: number): string {
  switch (SWEEP_UNITS[key]) {
    case 'ms':
      return `${tidy(value)}ms`;
    case 'fraction':
      return `${tidy(value * 100)}%`;
    case 'bps':
      if (value >= 1e9) return `${tidy(value / 1e9)}gbit`;
      if (value >= 1e6) return `${tidy(value / 1e6)}mbit`;
      if (value >= 1e3) return `${tidy(value / 1e3)}kbit`;
      return `${tidy(value)}bit`;
  }
}

function sweepDirection(d: DirectionModel, key: SweepKey, value: number): DirectionModel {
  switch (key) {
    case 'rtt':
      return { ...d, delayMs: value / 2 };
    case 'delay':
      return { ...d, delayMs: value };
    case 'jitter':
      return { ...d, jitterMs: value };
    case 'loss':
      return { ...d, loss: value === 0 ? { model: 'none' } : { model: 'random', probability: value, correlation: 0 } };
    case 'rate':
      return { ...d, rateBps: value };
  }
}

function resolveNetworks(doc: ScenarioDocument, scenarioDir: string): { networks: NetworkVariant[]; sweep?: Scenario['sweep'] } {
  if (doc.network === 'none') {
    if (doc.sweep) {
      throw new ScenarioIssue(['sweep'], message('a sweep needs a shaped network', '`network:` with a profile or link values', 'Add e.g. `network: {link: {delay: 25ms}}`, or remove `sweep`.'));
    }
    return { networks: [{ label: 'none', spec: { kind: 'none' } }] };
  }
  const base = resolveShaped(doc.network, scenarioDir);
  const label = doc.network.profile ?? 'custom';
  if (!doc.sweep) return { networks: [{ label, spec: base }] };

  const keys = (Object.keys(doc.sweep) as (keyof SweepInput)[]).filter((k) => doc.sweep![k] !== undefined);
  if (keys.length === 0) {
    throw new ScenarioIssue(['sweep'], message('the sweep is empty', `one key: ${SWEEP_KEYS.join(', ')}`, 'Add e.g. `rtt: [20ms, 100ms, 300ms]`, or remove `sweep`.'));
  }
  if (keys.length > 1) {
    throw new ScenarioIssue(['sweep', keys[1]!], message(`the sweep varies both \`${keys[0]}\` and \`${keys[1]}\``, 'one key per sweep, everything else equal', `Keep one of them and set the other under \`network.link\`.`));
  }
  const key = keys[0]!;
  const values = doc.sweep[key]!;
  const networks: NetworkVariant[] = values.map((value, i) => {
    const shown = showSweepValue(key, value);
    const first = values.findIndex((v) => showSweepValue(key, v) === shown);
    if (first !== i) {
      throw new ScenarioIssue(['sweep', key, i], message(`${shown} is listed twice`, 'each value once', 'Remove the repeated value.'));
    }
    const spec: NetworkSpec = {
      ...base,
      paths: base.paths.map((p) => ({ name: p.name, up: sweepDirection(p.up, key, value), down: sweepDirection(p.down, key, value) })),
    };
    return { label: `${key}=${shown}`, spec, sweepValue: value };
  });
  return { networks, sweep: { key, unit: SWEEP_UNITS[key] } };
}

export interface ResolveInput {
  doc: ScenarioDocument;
  file: string;
  /** Name used when the document has no `name:` (the file's base name). */
  defaultName: string;
  protocols?: Protocol[];
  repetitions?: number;
  seed?: number;
  capture?: boolean;
}

export function resolveScenario(input: ResolveInput): Scenario {
  const { doc } = input;
  const name = doc.name ?? input.defaultName;
  if (!NAME_PATTERN.test(name)) {
    throw new ScenarioIssue([], message(`the file name \`${name}\` cannot be used as a scenario name`, "letters, digits, '.', '_' or '-'", 'Add e.g. `name: my-scenario` at the top.'));
  }
  const protocols = input.protocols ?? doc.protocols;
  const scenarioDir = path.dirname(path.resolve(input.file));
  const { networks, sweep } = resolveNetworks(doc, scenarioDir);

  const workloads = resolveMigrations(doc, networks);
  const servers = resolveServers(doc, protocols, scenarioDir);
  if (input.capture) resolveCapture(doc, networks);
  if (doc.scheduling && servers.kind !== 'builtin') {
    throw new ScenarioIssue(['scheduling'], message('`scheduling` sets how bench\'s own servers share a connection', 'no `scheduling` with a server bench does not build (it schedules as it was written to)', 'Remove `scheduling`, or use `servers: builtin`.'));
  }
  if (doc.tls && servers.kind === 'external') {
    throw new ScenarioIssue(['tls'], message('`tls` sets the certificate of servers bench runs', 'no `tls` with external servers (they present their own certificates)', 'Remove `tls`, or let bench run the server (`servers: builtin` or `{command: ...}`).'));
  }

  return {
    file: input.file,
    name,
    description: doc.description,
    protocols,
    repetitions: input.repetitions ?? doc.repetitions,
    seed: input.seed ?? doc.seed,
    networks,
    ...(sweep && { sweep }),
    servers,
    ...(servers.kind === 'builtin' && { scheduling: doc.scheduling ?? DEFAULT_STREAM_SCHEDULING }),
    tls: doc.tls ?? { key: DEFAULT_TLS_KEY, intermediates: 0 },
    workloads,
    assertions: resolveAssertions(doc),
    ...(doc.reference && { reference: resolveReference(doc) }),
    timeouts: { requestMs: doc.timeouts.request, cellMs: doc.timeouts.cell },
  };
}

/**
 * Migration workloads against the network: every mode needs a shaped network; a handover a second
 * path to move to (resolved into `to`); a rebinding the userspace link (`auto` resolves to it). The
 * activity must end within the cell timeout.
 */
function resolveMigrations(doc: ScenarioDocument, networks: NetworkVariant[]): WorkloadSpec[] {
  return doc.workloads.map((w, i) => {
    if (w.type !== 'migration') return w;
    const at = (key: string): DocPath => ['workloads', i, key];
    if (doc.network === 'none') {
      throw new ScenarioIssue(at('type'), message('a migration workload needs a shaped network', '`network:` with the paths the client moves on', 'Add e.g. `network: {paths: [{name: wifi}, {name: lte}]}`.'));
    }
    if (w.durationMs + doc.timeouts.request >= doc.timeouts.cell) {
      throw new ScenarioIssue(at('duration'), message(`the activity (${tidy(w.durationMs / 1000)}s, then up to the request timeout) would outlast the cell timeout (${tidy(doc.timeouts.cell / 1000)}s)`, '`duration` + `timeouts.request` below `timeouts.cell`', 'Shorten `duration`, or raise `timeouts.cell`.'));
    }
    if (w.silenceTimeoutMs >= doc.timeouts.request) {
      throw new ScenarioIssue(at('silenceTimeout'), message(`a silence timeout of ${tidy(w.silenceTimeoutMs / 1000)}s never fires: requests time out first (\`timeouts.request: ${tidy(doc.timeouts.request / 1000)}s\`)`, '`silenceTimeout` shorter than `timeouts.request`', 'Shorten `silenceTimeout`, or raise `timeouts.request`.'));
    }
    const paths = (networks[0]!.spec as Extract<NetworkSpec, { kind: 'shaped' }>).paths.map((p) => p.name);
    if (w.mode === 'rebind') {
      if (doc.network.backend === 'kernel') {
        throw new ScenarioIssue(at('mode'), message('`mode: rebind` needs the userspace backend (the kernel\'s netem cannot rewrite addresses)', '`network.backend: userspace` or `auto`', 'Set `backend: userspace`, or use `mode: handover` or `mode: outage`.'));
      }
      for (const n of networks) if (n.spec.kind === 'shaped') n.spec.backend = 'userspace';
    }
    if (w.mode !== 'handover') return w;
    if (w.to !== undefined) {
      if (!paths.includes(w.to)) {
        throw new ScenarioIssue(at('to'), message(`unknown path \`${w.to}\``, `one of the network's paths: ${paths.join(', ')}`, `Use ${paths.length > 2 ? 'one of ' : ''}${listOf(paths.slice(1))}.`));
      }
      if (w.to === paths[0]) {
        throw new ScenarioIssue(at('to'), message(`\`${w.to}\` is the path the client starts on (the first path)`, 'another path to move to', paths.length > 1 ? `Use ${listOf(paths.slice(1))}.` : 'Add a second path under `network.paths`.'));
      }
      return w;
    }
    if (paths.length < 2) {
      throw new ScenarioIssue(
        at('mode'),
        message(`\`mode: handover\` needs a second path to move to; the network has only \`${paths[0]}\``, 'a network with at least two paths', 'Add one under `network`, e.g. `paths: [{name: wifi}, {name: lte, link: {delay: 40ms}}]`, or use `mode: rebind` or `mode: outage`.'),
      );
    }
    return { ...w, to: paths[1]! };
  });
}

/**
 * `bench run --capture` records the packets in the userspace link: the network must be shaped and
 * not on the kernel backend (tc netem keeps no record of a packet); `auto` resolves to userspace.
 */
function resolveCapture(doc: ScenarioDocument, networks: NetworkVariant[]): void {
  if (doc.network === 'none') {
    throw new ScenarioIssue(['network'], message('--capture records the packets the link carries, and `network: none` has no link', 'a shaped network on the userspace backend', 'Add e.g. `network: {link: {delay: 25ms}}`, or run without --capture.'));
  }
  if (doc.network.backend === 'kernel') {
    throw new ScenarioIssue(['network', 'backend'], message('--capture needs the userspace backend: the kernel\'s netem keeps no record of the packets it delays and drops', '`backend: userspace` or `auto` with --capture', 'Set `backend: userspace` (or `auto`), or run without --capture.'));
  }
  for (const n of networks) if (n.spec.kind === 'shaped') n.spec.backend = 'userspace';
}

/** Each claim names a workload of the scenario and a metric of its type. */
function resolveReference(doc: ScenarioDocument): StudyReference {
  const reference = doc.reference!;
  const names = doc.workloads.map((w) => w.name);
  reference.claims.forEach((claim, i) => {
    const workload = doc.workloads.find((w) => w.name === claim.workload);
    if (!workload) {
      const guess = closest(claim.workload, names);
      throw new ScenarioIssue(['reference', 'claims', i, 'workload'], message(`no workload named \`${claim.workload}\``, `one of ${listOf(names)}`, guess ? `Did you mean \`${guess}\`?` : 'Name a workload of this scenario.'));
    }
    if (!findMetric(workload.type, claim.metric)) {
      const ids = headlineMetrics(workload.type).map((m) => m.id);
      const guess = closest(claim.metric, ids);
      throw new ScenarioIssue(['reference', 'claims', i, 'metric'], message(`\`${claim.metric}\` is not a metric of a ${workload.type} workload`, `a metric such as ${listOf(ids)}`, guess ? `Did you mean \`${guess}\`?` : `Use one of ${listOf(ids)}.`));
    }
  });
  return { source: reference.source, claims: reference.claims.map((c) => ({ workload: c.workload, metric: c.metric, says: c.says })) };
}

/** `assert:` entries parsed against the scenario's own workloads and protocols (src/scenario/assertions.ts). */
function resolveAssertions(doc: ScenarioDocument): Assertion[] {
  const ctx = { workloads: doc.workloads.map((w) => ({ name: w.name, type: w.type })), protocols: doc.protocols };
  return (doc.assert ?? []).map((entry, i) => {
    const parsed = parseAssertion(entry.check, entry.level, ctx);
    if (!parsed.ok) throw new ScenarioIssue(entry.short ? ['assert', i] : ['assert', i, 'check'], parsed.problem);
    return parsed.value;
  });
}

/**
 * External targets need `network: none` and a URL per protocol; a command's paths are relative to
 * the scenario file, its config template must exist and use known placeholders only.
 */
function resolveServers(doc: ScenarioDocument, protocols: Protocol[], scenarioDir: string): ServersSpec {
  const servers = doc.servers;
  if (servers.kind !== 'builtin' && doc.network !== 'none' && doc.network.pacing !== 'default') {
    throw new ScenarioIssue(['network', 'pacing'], message(`\`pacing: ${doc.network.pacing}\` applies to bench's own servers only`, '`pacing: default` with servers bench did not write', 'Remove `pacing`, or use `servers: builtin`; a server of your own paces as it is configured.'));
  }
  if (servers.kind === 'external') {
    if (doc.network !== 'none') {
      throw new ScenarioIssue(['servers'], message('external servers cannot sit behind the shaped link', '`network: none` with external servers (the link runs between namespaces bench creates)', 'Set `network: none`, use `servers: {command: ...}` to run the server behind the link, or use `servers: builtin`.'));
    }
    const missing = protocols.filter((p) => !servers.targets[p]);
    if (missing.length > 0) {
      const configured = Object.keys(servers.targets);
      throw new ScenarioIssue(['servers'], message(`no target for ${listOf(missing)}`, 'a URL for every protocol in `protocols`', configured.length > 0 ? `Add \`${missing[0]}: https://...\`, or limit \`protocols\` to ${listOf(configured)}.` : `Add \`${missing[0]}: https://...\`.`));
    }
    const targets = { ...servers.targets };
    for (const p of PROTOCOLS) {
      const target = targets[p];
      if (target?.ca === undefined) continue;
      const ca = readUserFile(path.resolve(scenarioDir, target.ca), target.ca, ['servers', 'ca'], 'a PEM file with the CA certificate');
      if (!ca.text.includes('-----BEGIN CERTIFICATE-----')) {
        throw new ScenarioIssue(['servers', 'ca'], message(`${target.ca} holds no PEM certificate`, 'a PEM file with the CA certificate (-----BEGIN CERTIFICATE-----)', 'Point `ca` at the CA that signed the servers\' certificates.'));
      }
      targets[p] = { ...target, ca: ca.file };
    }
    return { kind: 'external', targets };
  }
  if (servers.kind === 'command') {
    const resolved: CommandServerSpec = { ...servers, cwd: scenarioDir };
    if (servers.config !== undefined) {
      const template = readUserFile(path.resolve(scenarioDir, servers.config), servers.config, ['servers', 'config'], 'a config template file');
      checkTemplate(template.file, template.text);
      resolved.config = template.file;
    }
    return resolved;
  }
  return servers;
}

function readUserFile(file: string, written: string, where: DocPath, expected: string): { file: string; text: string } {
  try {
    return { file, text: readFileSync(file, 'utf8') };
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'does not exist' : `cannot be read (${(error as Error).message})`;
    throw new ScenarioIssue(where, message(`${written} ${reason} (looked for ${path.relative(process.cwd(), file) || file})`, expected, 'Fix the path; it is relative to the scenario file.'));
  }
}

/** A template's mistakes are located in the template itself. */
function checkTemplate(file: string, text: string): void {
  const allowed = PLACEHOLDER_NAMES.filter((n) => n !== 'config');
  const bad = unknownPlaceholder(text, allowed);
  if (!bad) return;
  const before = text.slice(0, bad.use.index).split('\n');
  const at = `${before.length}:${before.at(-1)!.length + 1}`;
  const what = bad.use.name === 'config' ? 'the template cannot name itself: `{{config}}`' : `unknown placeholder \`{{${bad.use.name}}}\``;
  throw new UserError('E_SERVER_CONFIG', `${file}:${at}: ${message(what, `one of ${allowed.map((n) => `{{${n}}}`).join(', ')}`, bad.use.name === 'config' ? 'Remove it.' : bad.fix)}`);
}
