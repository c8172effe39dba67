/**
 * The one reader of result.json (report, compare, gate): a file or a run folder in, a validated
 * RunResult out, or ONE UserError naming the file, the place in it and what to do. The zod schema
 * below is typed against the interfaces of model.ts, so the two cannot drift apart; unknown extra
 * fields pass (a newer bench may add some), missing or mistyped ones do not.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import type { FidelityReport, LinkCounters } from '../../netem/types.ts';
import type { NetworkSpec } from '../../netem/model.ts';
import { PROTOCOLS, type TransportStats } from '../drivers/types.ts';
import { TLS_KEY_TYPES } from '../tls/key-types.ts';
import { UserError } from '../util/errors.ts';
import type { Assertion } from './assertions.ts';
import type { StudyReference } from './reference.ts';
import { METRIC_UNITS } from './catalogue.ts';
import type { WorkloadDetails } from './details.ts';
import { type Cell, type MetricHistogram, type RunResult, SCHEMA_VERSION, type ServerImplementation, type Summary, type Warning } from './model.ts';

const object = <T>() => z.custom<T>((v) => typeof v === 'object' && v !== null && !Array.isArray(v), 'expected an object');
const count = z.number().int().nonnegative();

const histogram: z.ZodType<MetricHistogram> = z.looseObject({
  unit: z.literal('ms'),
  count,
  min: z.number(),
  max: z.number(),
  mean: z.number(),
  stdev: z.number(),
  p50: z.number(),
  p90: z.number(),
  p99: z.number(),
  p999: z.number(),
  encoded: z.string(),
});

/** The details readers index into; their inner figures are checked by the accessors in details.ts. */
const details: z.ZodType<WorkloadDetails> = z.looseObject({
  handshake: z.looseObject({ baseRttMs: z.number(), modes: z.record(z.string(), object<object>()) }).optional(),
  multiplex: z.looseObject({ lossEvents: count, stalledPerLoss: z.array(z.number()), inFlightPerLoss: z.array(z.number()) }).optional(),
  page: z.looseObject({ handshakesPerLoad: z.array(z.number()), resourcesPerPage: z.number() }).optional(),
}) as z.ZodType<WorkloadDetails>;

const protocol = z.enum(PROTOCOLS);
const backend = z.enum(['kernel', 'userspace', 'none']);

const cell: z.ZodType<Cell> = z.looseObject({
  network: z.string(),
  protocol,
  workload: z.string(),
  workloadType: z.string(),
  repetition: count,
  order: count,
  durationMs: z.number(),
  requests: z.looseObject({ total: count, ok: count, failed: count, bytes: z.number() }),
  requestsPerSec: z.number(),
  goodputBps: z.number(),
  connections: z.looseObject({ opened: count, resumed: count, earlyData: count }),
  metrics: z.record(z.string(), histogram),
  serverCpuMs: z.number().optional(),
  clientCpuMs: z.number().optional(),
  transport: object<TransportStats>().optional(),
  link: object<LinkCounters>().optional(),
  details: details.optional(),
  capture: z.looseObject({ file: z.string(), received: count, delivered: count, dropped: count }).optional(),
  error: z.string().optional(),
});

const summary: z.ZodType<Summary> = z.looseObject({
  network: z.string(),
  protocol,
  workload: z.string(),
  metric: z.string(),
  unit: z.string(),
  values: z.array(z.number()),
  median: z.number(),
  mean: z.number(),
  ci95: z.tuple([z.number(), z.number()]),
  ciMethod: z.enum(['t', 'bootstrap', 'range', 'none']),
});

const warning: z.ZodType<Warning> = z.looseObject({
  level: z.enum(['info', 'warn', 'error']),
  code: z.string(),
  message: z.string(),
  network: z.string().optional(),
  protocol: protocol.optional(),
  workload: z.string().optional(),
});

const server: z.ZodType<ServerImplementation> = z.looseObject({
  kind: z.enum(['builtin', 'external', 'command']),
  name: z.string(),
  url: z.string().optional(),
  command: z.string().optional(),
  version: z.string().optional(),
  serverHeader: z.string().optional(),
  altSvc: z.string().optional(),
  cpu: z.enum(['process', 'process-group', 'unavailable']),
});

const metricRef = z.looseObject({ protocol, workload: z.string(), metric: z.string() });
const assertion: z.ZodType<Assertion> = z.looseObject({
  text: z.string(),
  level: z.enum(['warn', 'error']),
  subject: metricRef,
  operator: z.enum(['<', '<=', '>', '>=']),
  bound: z.discriminatedUnion('kind', [
    z.looseObject({ kind: z.literal('value'), value: z.number(), unit: z.enum(METRIC_UNITS) }),
    z.looseObject({ kind: z.literal('metric'), factor: z.number(), ref: metricRef }),
    z.looseObject({ kind: z.literal('baseline'), factor: z.number() }),
  ]),
});

const reference: z.ZodType<StudyReference> = z.looseObject({
  source: z.string(),
  claims: z.array(z.looseObject({ workload: z.string(), metric: z.string(), says: z.string() })),
});

const runResult: z.ZodType<RunResult> = z.looseObject({
  schemaVersion: z.literal(SCHEMA_VERSION),
  tool: z.looseObject({ name: z.literal('bench'), version: z.string(), commit: z.string().optional(), dependencies: z.record(z.string(), z.string()) }),
  run: z.looseObject({
    id: z.string(),
    startedAt: z.string(),
    finishedAt: z.string().optional(),
    durationMs: z.number().optional(),
    argv: z.array(z.string()),
    seed: z.number(),
    status: z.enum(['complete', 'partial', 'failed']),
    serverDelayMs: z.number().optional(),
    error: z.string().optional(),
  }),
  environment: z.looseObject({
    hostname: z.string().optional(),
    node: z.string(),
    platform: z.string(),
    kernel: z.string(),
    cpu: z.looseObject({ model: z.string(), cores: z.number() }),
    memoryBytes: z.number(),
    emulator: z.looseObject({ backend, shaped: z.boolean(), fidelity: object<FidelityReport>().optional() }),
    certificate: z
      .looseObject({ key: z.enum(TLS_KEY_TYPES), intermediates: count, certificateBytes: z.array(count), chainBytes: count })
      .optional(),
    interleaved: z
      .looseObject({
        role: z.enum(['baseline', 'candidate']),
        order: z.literal('ABBA'),
        pairs: count,
        builds: z.looseObject({ baseline: z.string(), candidate: z.string() }),
        candidateServerDelayMs: z.number().optional(),
        runs: z.array(z.string()),
      })
      .optional(),
  }),
  scenario: z.looseObject({ name: z.string(), file: z.string(), assertions: z.array(assertion).optional(), reference: reference.optional() }),
  servers: z.partialRecord(protocol, server).optional(),
  networks: z.array(
    z.looseObject({
      label: z.string(),
      spec: object<NetworkSpec>(),
      backend,
      backendReason: z.string().optional(),
      dropLog: z.object({ kept: z.boolean(), detail: z.string() }).optional(),
    }),
  ),
  cells: z.array(cell),
  summaries: z.array(summary),
  warnings: z.array(warning),
});

/** `reports/x/2026-...` or `.../result.json` -> the result.json path; a missing one is a UserError. */
export function resultPath(input: string): string {
  const isDir = existsSync(input) && statSync(input).isDirectory();
  const file = isDir ? path.join(input, 'result.json') : input;
  if (!existsSync(file)) {
    throw new UserError(
      'E_NO_RESULT',
      isDir
        ? `${input}: no result.json here; give a directory written by \`bench run\` (reports/<scenario>/<timestamp>) or a result.json file`
        : `${input}: no such file; give a result.json or a run directory written by \`bench run\``,
    );
  }
  return file;
}

/** Where in the document a zod issue points, as readers write it: cells[3].metrics.latency.p99. */
function issuePath(keys: readonly PropertyKey[]): string {
  return keys.map((k, i) => (typeof k === 'number' ? `[${k}]` : `${i === 0 ? '' : '.'}${String(k)}`)).join('') || '(top level)';
}

/** Validates parsed JSON as a RunResult; `file` names it in the message. */
export function parseResult(value: unknown, file: string): RunResult {
  const version = (value as { schemaVersion?: unknown } | null)?.schemaVersion;
  if (typeof value !== 'object' || value === null || Array.isArray(value) || version === undefined) {
    throw new UserError('E_BAD_RESULT', `${file} is not a bench result.json (no schemaVersion); give the result.json a \`bench run\` wrote`);
  }
  if (version !== SCHEMA_VERSION) {
    throw new UserError(
      'E_RESULT_VERSION',
      `${file} has schemaVersion ${JSON.stringify(version)}; this bench reads version ${SCHEMA_VERSION}: use the bench version that wrote it, or re-run the scenario`,
    );
  }
  const parsed = runResult.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const more = parsed.error.issues.length > 1 ? ` (and ${parsed.error.issues.length - 1} more problem(s))` : '';
    throw new UserError(
      'E_BAD_RESULT',
      `${file}: ${issuePath(issue.path)}: ${issue.message}${more}; the file is damaged or was edited by hand: re-run the scenario or restore it`,
    );
  }
  return parsed.data;
}

/** Reads and validates a result.json, given the file or its run directory. */
export function readResult(input: string): RunResult {
  const file = resultPath(input);
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(file, 'utf8'));
  } catch (cause) {
    throw new UserError('E_BAD_RESULT', `${file} is not valid JSON (${(cause as Error).message}); re-run the scenario`, { cause });
  }
  return parseResult(value, file);
}
