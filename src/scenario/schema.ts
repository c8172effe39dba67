/**
 * The scenario file format (YAML), as a zod 4 schema. It validates, converts units to base units
 * and supplies defaults; resolve.ts then expands profiles, paths, phases and sweeps.
 * Every key carries `.describe()` text: scenarios/schema.json is generated from this file
 * (src/scenario/write-schema.ts) and gives editors completion and hover help.
 * Error functions return `<what is wrong>, expected <what>. <fix>` (see messages.ts).
 */
import { z } from 'zod';
import { SENDER_PACING, type JitterDistribution, type JitterOrder, type LossModel, type SenderPacing } from '../../netem/model.ts';
import { PROFILE_NAMES } from '../../netem/profiles.ts';
import { DEFAULT_RECEIVE_WINDOWS, PROTOCOLS, RECEIVE_WINDOW_LIMITS, type Protocol } from '../drivers/types.ts';
import { KEY, describeValue, message, typeMessage } from './messages.ts';
import { closest, listOf } from './suggest.ts';
import { PLACEHOLDER_NAMES, unknownPlaceholder } from './placeholders.ts';
import { HANDSHAKE_MODES, MIGRATION_MODES, WORKLOAD_TYPES, type ExternalTarget, type HandshakeMode, type ServersSpec } from './types.ts';
import { parseDuration, parsePercent, parseRate, parseSize, show, tidy, type Parsed } from './units.ts';
import { DEFAULT_MAX_BODY_BYTES, PAGE_LIMITS } from '../../servers/handler.ts';
import { STREAM_SCHEDULING, type StreamScheduling } from '../../servers/handler-types.ts';
import { LOAD_CLIENTS, type LoadClient } from '../results/details.ts';
import { DEFAULT_TLS_KEY, MAX_INTERMEDIATES, TLS_KEY_TYPES } from '../tls/key-types.ts';

/* ----------------------------------------------------------------------------------------------
 * Building blocks
 * -------------------------------------------------------------------------------------------- */

/** A strict mapping: unknown keys are errors, with "did you mean" from this mapping's own keys. */
function mapping<Shape extends z.ZodRawShape>(shape: Shape, what: string) {
  const keys = Object.keys(shape);
  return z.strictObject(shape, {
    error: (iss) => {
      if (iss.code === 'unrecognized_keys') {
        const unknown = iss.keys[0]!;
        const guess = closest(unknown, keys);
        const fix = guess ? `Did you mean \`${guess}\`?` : `Valid keys: ${listOf(keys)}.`;
        return message(`unknown key \`${unknown}\``, `one of the keys of ${what}`, fix);
      }
      if (iss.code === 'invalid_type') return typeMessage(iss.input, what, '{ ... }');
      return undefined;
    },
  });
}

/** A value written with a unit (`50ms`, `1.5%`, `20mbit`, `10KB`), converted by `parse`. */
function withUnit(
  parse: (input: unknown) => Parsed<number>,
  json: { description: string; examples: string[]; pattern: string; bare?: { const: 0 } | { type: 'integer'; minimum: 0 } },
) {
  return z
    .unknown()
    .transform((input, ctx) => {
      const parsed = parse(input);
      if (!parsed.ok) {
        const p = parsed.problem;
        const text = input === undefined ? message('missing', p.expected, `Add \`${KEY}: ${json.examples[0]}\`.`) : message(p.wrong, p.expected, p.fix);
        ctx.addIssue({ code: 'custom', input, message: text });
        return z.NEVER;
      }
      return parsed.value;
    })
    .meta({
      ...(json.bare ? { anyOf: [{ type: 'string', pattern: json.pattern }, json.bare] } : { type: 'string', pattern: json.pattern }),
      description: json.description,
    });
}

const duration = (description: string) =>
  withUnit(parseDuration, {
    description: `${description} A duration: us, ms, s, m or h (e.g. 50ms, 1.5s, 2m); a bare 0 is allowed.`,
    examples: ['50ms', '1.5s'],
    pattern: '^\\s*(0|(\\d+(\\.\\d+)?|\\.\\d+)\\s*(us|µs|ms|s|m|h))\\s*$',
    bare: { const: 0 },
  });
const percent = (description: string) =>
  withUnit(parsePercent, {
    description: `${description} A percentage from 0% to 100% (e.g. 1.5%); a bare 0 is allowed.`,
    examples: ['1%', '0.5%'],
    pattern: '^\\s*(0|(\\d+(\\.\\d+)?|\\.\\d+)\\s*%)\\s*$',
    bare: { const: 0 },
  });
const rate = (description: string) =>
  withUnit(parseRate, {
    description: `${description} Bits per second with a unit: bit, kbit, mbit, gbit, Kbps, Mbps, Gbps (k = 1000), or bytes per second: KB/s, MB/s, GB/s.`,
    examples: ['20mbit', '500kbit'],
    // Case-insensitive bit/bps units; byte rates only as B/s.
    pattern: '^\\s*(\\d+(\\.\\d+)?|\\.\\d+)\\s*([kKmMgG]?([bB][iI][tT]|bps|BPS|b/s|B/s))\\s*$',
  });
const size = (description: string) =>
  withUnit(parseSize, {
    description: `${description} Bytes: a whole number, or with a unit B, KB, MB, GB (x1000), KiB, MiB, GiB (x1024).`,
    examples: ['10KB', '2MiB'],
    pattern: '^\\s*(\\d+(\\.\\d+)?|\\.\\d+)\\s*([kKmMgG][iI]?[bB]|[bB])?\\s*$',
    bare: { type: 'integer', minimum: 0 },
  });

function int(opts: { min: number; max?: number; example: number }, description: string) {
  const expected = opts.max !== undefined ? `a whole number from ${opts.min} to ${opts.max}` : `a whole number, ${opts.min} or more`;
  const rangeError = (iss: { input?: unknown }) =>
    message(
      typeof iss.input === 'number' && iss.input < 0 ? `${show(iss.input)} is negative` : `${show(iss.input)} is out of range`,
      expected,
      `Write e.g. \`${KEY}: ${opts.example}\`.`,
    );
  let schema = z
    .number({
      error: (iss) =>
        iss.code === 'invalid_type' && typeof iss.input === 'number'
          ? message(`${show(iss.input)} is not a whole number`, expected, `Write e.g. \`${KEY}: ${opts.example}\`.`)
          : typeMessage(iss.input, expected, String(opts.example)),
    })
    .int()
    .min(opts.min, { error: rangeError });
  if (opts.max !== undefined) schema = schema.max(opts.max, { error: rangeError });
  return schema.describe(description);
}

function oneOf<const T extends readonly [string, ...string[]]>(values: T, what: string, description: string) {
  const expected = `a ${what}: one of ${values.join(', ')}`;
  return z
    .enum(values, {
      error: (iss) => {
        if (typeof iss.input !== 'string') return typeMessage(iss.input, expected, values[0]);
        const guess = closest(iss.input, values, { ignoreCase: true });
        return message(
          `unknown ${what} ${describeValue(iss.input).replace(/^the string /, '')}`,
          expected,
          guess ? `Did you mean \`${guess}\`?` : `Use one of ${listOf(values)}.`,
        );
      },
    })
    .describe(description);
}

const bool = (description: string) =>
  z.boolean({ error: (iss) => typeMessage(iss.input, 'true or false', 'true') }).describe(description);

const text = (what: string, example: string, description: string) =>
  z.string({ error: (iss) => typeMessage(iss.input, what, example) }).describe(description);

/** Scenario and workload names: they appear in report paths. */
export const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const identifier = (what: string, example: string, description: string) =>
  text(what, example, description).regex(NAME_PATTERN, {
    error: (iss) =>
      message(
        `${describeValue(iss.input)} cannot be used as a ${what}`,
        `letters, digits, '.', '_' or '-', starting with a letter or digit, at most 64 characters`,
        `Write e.g. \`${KEY}: ${example}\`.`,
      ),
  });

/** A non-empty list of `item`; `example` is a YAML flow list such as `[10KB]`. */
function list<T extends z.ZodType>(item: T, what: string, example: string, description: string) {
  return z
    .array(item, { error: (iss) => typeMessage(iss.input, `a list of ${what}s`, example) })
    .min(1, { error: () => message('the list is empty', `at least one ${what}`, `Write e.g. \`${KEY}: ${example}\`.`) })
    .describe(description);
}

/** Adds an issue when two keys that exclude each other are both set. */
function exclusive(value: Record<string, unknown>, a: string, b: string, ctx: z.RefinementCtx, why: string) {
  if (value[a] !== undefined && value[b] !== undefined) {
    ctx.addIssue({
      code: 'custom',
      path: [b],
      input: value[b],
      message: message(`\`${a}\` and \`${b}\` are both set`, why, `Remove \`${a}\` or \`${b}\`.`),
    });
  }
}

/* ----------------------------------------------------------------------------------------------
 * Network
 * -------------------------------------------------------------------------------------------- */

const JITTER_DISTRIBUTIONS = ['normal', 'pareto', 'paretonormal', 'uniform'] as const satisfies readonly JitterDistribution[];

/** Link values for one direction (or both, under `link`); every key optional, each overrides. */
const directionSchema = mapping(
  {
    delay: duration('One-way delay.').optional(),
    jitter: duration('Random variation added to the delay.').optional(),
    jitterDistribution: oneOf(JITTER_DISTRIBUTIONS, 'jitter distribution', 'Distribution of the jitter (as netem).').optional(),
    jitterCorrelation: percent("Correlation of each packet's jitter with the previous packet's.").optional(),
    loss: percent('Random packet loss.').optional(),
    lossCorrelation: percent("Correlation of each packet's loss with the previous packet's.").optional(),
    gilbertElliott: mapping(
      {
        p: percent('Probability of moving from the good to the bad state, per packet.'),
        r: percent('Probability of moving from the bad back to the good state, per packet (mean burst = 1/r packets).'),
        lossInBad: percent('Loss probability in the bad state (netem 1-h).').prefault('100%'),
        lossInGood: percent('Loss probability in the good state (netem 1-k).').prefault('0%'),
      },
      'a Gilbert-Elliott loss model {p, r, lossInBad, lossInGood}',
    )
      .describe('Bursty loss, as netem `loss gemodel p r 1-h 1-k`. Replaces `loss`.')
      .optional(),
    duplicate: percent('Probability that a packet is delivered twice.').optional(),
    reorder: percent('Probability that a packet skips the delay and overtakes others.').optional(),
    reorderCorrelation: percent('Correlation of reordering between packets.').optional(),
    corrupt: percent('Probability of a single-bit error in a packet.').optional(),
    rate: z
      .union([z.literal('unlimited'), rate('Bottleneck rate.')], {
        error: (iss) => typeMessage(iss.input, 'a rate such as 20mbit, or `unlimited`', '20mbit'),
      })
      .transform((v) => (v === 'unlimited' ? null : v))
      .describe('Bottleneck rate, e.g. 20mbit, 1.5Mbit, 500kbit, 10MB/s; `unlimited` removes a profile\'s limit.')
      .optional(),
    queue: int({ min: 1, max: 100_000, example: 100 }, 'Drop-tail queue limit at the bottleneck, in packets.').optional(),
    queueBytes: size('Drop-tail queue limit at the bottleneck, in bytes.').optional(),
    blackhole: bool('Drop every packet (e.g. in a phase, to model a dead path).').optional(),
    rateTrace: text('a file path', '../traces/lte-drive.down', 'Mahimahi-style trace file, relative to the scenario file: one line per 1500-byte delivery opportunity (ms since start; it loops), played from the start of each cell; userspace backend only.').optional(),
  },
  'a link direction {delay, jitter, loss, rate, ...}',
)
  .superRefine((d, ctx) => {
    exclusive(d, 'loss', 'gilbertElliott', ctx, 'one loss model');
    exclusive(d, 'lossCorrelation', 'gilbertElliott', ctx, 'one loss model (Gilbert-Elliott has no correlation)');
    if (d.queueBytes !== undefined && d.queueBytes < 1) {
      ctx.addIssue({ code: 'custom', path: ['queueBytes'], input: d.queueBytes, message: message('a queue of 0 bytes holds nothing', 'at least one packet, e.g. 150KB', 'Leave `queueBytes` out for the default queue.') });
    }
  })
  .meta({ id: 'LinkValues' });

export type DirectionInput = z.output<typeof directionSchema>;

const directionKeys = (what: string) => ({
  link: directionSchema.optional().describe(`${what}: values for both directions.`),
  up: directionSchema.optional().describe(`${what}: client -> server values (override \`link\`).`),
  down: directionSchema.optional().describe(`${what}: server -> client values (override \`link\`).`),
});

const PATH_NAME = /^[a-z][a-z0-9-]{0,11}$/;
const pathSchema = mapping(
  {
    name: text('a path name', 'wifi', 'Path name: lower-case letters, digits and -, at most 12 characters; the first path is the default route.').regex(PATH_NAME, {
      error: (iss) =>
        message(`${describeValue(iss.input)} cannot name a path`, "lower-case letters, digits and '-', starting with a letter, at most 12 characters", `Write e.g. \`${KEY}: wifi\`.`),
    }),
    ...directionKeys('This path'),
  },
  'a path {name, link, up, down}',
);

const phaseSchema = mapping(
  {
    at: duration('When the change happens, from the start of each measurement cell.'),
    path: text('a path name', 'wifi', 'Which path changes; all paths when absent.').optional(),
    ...directionKeys('From now on'),
    rebind: mapping(
      {
        port: bool("Rewrite the client's source port from now on (NAT rebinding).").optional(),
        address: bool("Rewrite the client's source address from now on.").optional(),
      },
      'a rebinding {port, address}',
    )
      .describe('userspace backend only: rewrite the client\'s source address/port, as a NAT does.')
      .optional(),
  },
  'a phase {at, path, link, up, down, rebind}',
);

const BACKENDS = ['auto', 'kernel', 'userspace'] as const;
const CONGESTION_CONTROLS = ['cubic', 'reno', 'bbr'] as const;
const JITTER_ORDERS = ['reorder', 'fifo'] as const satisfies readonly JitterOrder[];

const shapedNetworkSchema = mapping(
  {
    profile: oneOf(PROFILE_NAMES as [string, ...string[]], 'profile', 'A named profile (netem/profiles.ts) to start from; other keys override it.').optional(),
    backend: oneOf(BACKENDS, 'backend', 'Link emulator: `kernel` (tc netem), `userspace` (TUN link process), or `auto` (kernel when this kernel has netem).').default('auto'),
    mtu: int({ min: 1280, max: 9000, example: 1500 }, 'MTU of the emulated link in bytes (QUIC needs at least 1280).').default(1500),
    congestionControl: oneOf(CONGESTION_CONTROLS, 'congestion control', 'Congestion control for TCP (in the namespaces) and QUIC.').default('cubic'),
    pacing: oneOf(SENDER_PACING as readonly [SenderPacing, ...SenderPacing[]], 'pacing', 'Whether senders pace: `default` (each stack as it ships: bench\'s QUIC paces at 2 x cwnd/srtt in slow start and 1.2 x after, TCP with cubic/reno does not), `on` (both pace by those gains), `off` (neither paces; not with bbr), `quiche` (QUIC paced by quiche\'s own pacer, 1.25 x cwnd/srtt; TCP as in default).').default('default'),
    jitterOrder: oneOf(JITTER_ORDERS, 'jitter order', 'How jitter treats packet order: `reorder` (as netem: each packet its own delay, so jitter above the packet spacing reorders) or `fifo` (no packet overtakes another, as on a cellular link that delivers in order; userspace backend).').default('reorder'),
    ...directionKeys('Every path'),
    paths: list(pathSchema, 'path', '[{name: wifi}, {name: lte}]', 'Paths between client and server (default: one path named `primary`).').optional(),
    phases: z
      .array(phaseSchema, { error: (iss) => typeMessage(iss.input, 'a list of phases', '[{at: 10s, link: {loss: 5%}}]') })
      .describe('Changes applied while each cell runs, in time order.')
      .default([]),
  },
  'a network {profile, link, up, down, paths, phases, ...}',
);

export type ShapedNetworkInput = z.output<typeof shapedNetworkSchema>;

const networkSchema = z
  .union([z.literal('none'), shapedNetworkSchema], {
    error: (iss) => {
      const input = iss.input;
      if (typeof input === 'string' && PROFILE_NAMES.includes(input)) {
        return message(`${describeValue(input)} is a profile name`, '`none` or a mapping', `Write \`network: {profile: ${input}}\`.`);
      }
      return typeMessage(input, '`none` (plain loopback) or a mapping such as {profile: cable}', '{profile: cable}');
    },
  })
  .describe('The link between client and server: `none` for plain loopback, or a shaped network.');

const sweepSchema = mapping(
  {
    rtt: list(duration('Round-trip time.'), 'duration', '[20ms, 100ms, 300ms]', 'Sets the delay to rtt/2 each way, on every path.').optional(),
    delay: list(duration('One-way delay.'), 'duration', '[10ms, 50ms]', 'Sets the one-way delay in both directions, on every path.').optional(),
    jitter: list(duration('Jitter.'), 'duration', '[0ms, 10ms]', 'Sets the jitter in both directions, on every path.').optional(),
    loss: list(percent('Loss.'), 'percentage', '[0%, 1%, 2%]', 'Sets random loss in both directions, on every path.').optional(),
    rate: list(rate('Rate.'), 'rate', '[5mbit, 50mbit]', 'Sets the bottleneck rate in both directions, on every path.').optional(),
  },
  'a sweep with one key: rtt, delay, jitter, loss or rate',
).describe('One network variant per value of ONE link key, everything else equal.');

export type SweepInput = z.output<typeof sweepSchema>;

/* ----------------------------------------------------------------------------------------------
 * Servers
 * -------------------------------------------------------------------------------------------- */

const httpsUrl = (protocol: Protocol) =>
  text('an https:// URL', 'https://localhost:8443', `${protocol} target, e.g. https://server.test:8443.`).superRefine((value, ctx) => {
    let url: URL | undefined;
    try {
      url = new URL(value);
    } catch {
      url = undefined;
    }
    if (!url || url.protocol !== 'https:' || url.hostname === '') {
      ctx.addIssue({
        code: 'custom',
        input: value,
        message: message(`${JSON.stringify(value)} is not an https URL`, 'an https:// URL with a host and optional port', 'Write it like `https://server.test:8443`.'),
      });
    } else if (url.pathname !== '/' || url.search || url.hash || url.username || url.password) {
      // Workloads request fixed paths (/bytes/<n>, /page/...) at the root of the origin.
      ctx.addIssue({
        code: 'custom',
        input: value,
        message: message(`${JSON.stringify(value)} has a path, query or credentials`, 'the origin only: https://host[:port]', `Write \`${url.origin}\`; the server must answer bench's routes at its root.`),
      });
    }
  });

const DEFAULT_START_TIMEOUT_MS = 20_000;

const port = (protocol: Protocol, transport: string) =>
  int({ min: 1, max: 65535, example: 8443 }, `${transport} port the server listens on for ${protocol} ({{port.${protocol}}}).`).optional();

/** Keys of the `command` form; the URL keys belong to the external form. */
const COMMAND_KEYS = ['command', 'config', 'ports', 'version', 'startTimeout'] as const;
const EXTERNAL_KEYS = ['h1', 'h2', 'h3', 'insecure', 'ca'] as const;

const serversMappingSchema = mapping(
  {
    h1: httpsUrl('h1').optional(),
    h2: httpsUrl('h2').optional(),
    h3: httpsUrl('h3').optional(),
    insecure: bool('External targets: skip certificate verification (self-signed certificates).').optional(),
    ca: text('a file path', 'certs/ca.pem', 'External targets: PEM file of the CA to trust instead of the system CAs (relative to the scenario file).').optional(),
    command: text('a command line', 'caddy run --config {{config}} --adapter caddyfile', 'A server bench starts (in the server namespace) for this run: a shell command line with {{placeholders}}, run in the scenario file\'s directory. It must stay in the foreground.').optional(),
    config: text('a file path', '../servers/examples/caddy/Caddyfile', 'Config template (relative to the scenario file): its {{placeholders}} are filled in and the result is {{config}}.').optional(),
    ports: mapping({ h1: port('h1', 'TCP'), h2: port('h2', 'TCP'), h3: port('h3', 'UDP') }, 'ports {h1, h2, h3}')
      .describe('Ports of the command\'s server; a protocol without one uses a port bench picks (one port shared by all of them).')
      .optional(),
    version: text('a command line', 'caddy version', "A command printing the server's version; its first line goes into the results.").optional(),
    startTimeout: duration('How long the command\'s server may take until every protocol\'s port answers.').optional(),
  },
  'servers {h1, h2, h3, insecure, ca} or {command, config, ports, version, startTimeout}',
)
  .superRefine((s, ctx) => {
    const set = (keys: readonly string[]) => keys.filter((k) => (s as Record<string, unknown>)[k] !== undefined);
    if (s.command !== undefined) {
      const mixed = set(EXTERNAL_KEYS)[0];
      if (mixed) {
        ctx.addIssue({ code: 'custom', path: [mixed], input: (s as Record<string, unknown>)[mixed], message: message(`\`command\` and \`${mixed}\` are both set`, 'either a command bench starts or URLs of servers already running', `Remove \`${mixed}\` (bench points the clients at the command's server), or remove \`command\`.`) });
        return;
      }
      if (s.command.trim() === '') {
        ctx.addIssue({ code: 'custom', path: ['command'], input: s.command, message: message('the command is empty', 'a command line that starts a server', 'Write e.g. `command: caddy run --config {{config}} --adapter caddyfile`.') });
        return;
      }
      const allowed = PLACEHOLDER_NAMES.filter((n) => n !== 'config' || s.config !== undefined);
      const bad = unknownPlaceholder(s.command, PLACEHOLDER_NAMES);
      if (bad) {
        ctx.addIssue({ code: 'custom', path: ['command'], input: s.command, message: message(`unknown placeholder \`{{${bad.use.name}}}\``, `one of ${PLACEHOLDER_NAMES.map((n) => `{{${n}}}`).join(', ')}`, bad.fix) });
      } else if (unknownPlaceholder(s.command, allowed)) {
        ctx.addIssue({ code: 'custom', path: ['command'], input: s.command, message: message('`{{config}}` is used but no `config:` is set', 'a config template to render into {{config}}', 'Add `config: <template file>` under `servers:`.') });
      }
      return;
    }
    const orphan = set(COMMAND_KEYS)[0];
    if (orphan) {
      ctx.addIssue({ code: 'custom', path: [orphan], input: (s as Record<string, unknown>)[orphan], message: message(`\`${orphan}\` without \`command\``, `\`${orphan}\` next to a \`command\` that starts the server`, `Add \`command: ...\`, or remove \`${orphan}\`.`) });
    }
  })
  .transform((s): ServersSpec => {
    if (s.command !== undefined) {
      return {
        kind: 'command',
        command: s.command.trim(),
        ...(s.config !== undefined && { config: s.config }),
        ports: { ...s.ports },
        ...(s.version !== undefined && { version: s.version }),
        startTimeoutMs: s.startTimeout ?? DEFAULT_START_TIMEOUT_MS,
      };
    }
    const targets: Partial<Record<Protocol, ExternalTarget>> = {};
    for (const p of PROTOCOLS) {
      const url = s[p];
      if (url !== undefined) targets[p] = { url, insecure: s.insecure ?? false, ...(s.ca !== undefined && { ca: s.ca }) };
    }
    return { kind: 'external', targets };
  });

const serversSchema = z
  .union([z.literal('builtin').transform((): ServersSpec => ({ kind: 'builtin' })), serversMappingSchema], {
    error: (iss) => typeMessage(iss.input, '`builtin`, a mapping of URLs per protocol {h1, h2, h3}, or {command: ...}', 'builtin'),
  })
  .describe('`builtin` (matched servers bench starts), URLs of servers already running ({h1, h2, h3}), or a server bench starts from a command ({command, config, ports, version}).');

/* ----------------------------------------------------------------------------------------------
 * TLS
 * -------------------------------------------------------------------------------------------- */

const tlsSchema = mapping(
  {
    key: oneOf(TLS_KEY_TYPES, 'key type', `Key type of every certificate of the chain (default ${DEFAULT_TLS_KEY}).`).default(DEFAULT_TLS_KEY),
    intermediates: int(
      { min: 0, max: MAX_INTERMEDIATES, example: 2 },
      'Intermediate CAs between the root and the leaf; the servers send them after the leaf (default 0: the root signs the leaf).',
    ).default(0),
  },
  'tls {key, intermediates}',
).describe(
  "The certificate chain every protocol's server presents (bench's own servers, or a `command`'s via {{cert}}): a larger chain makes QUIC's first flight exceed the anti-amplification limit.",
);

/* ----------------------------------------------------------------------------------------------
 * Workloads
 * -------------------------------------------------------------------------------------------- */

const workloadName = identifier('workload name', 'small', 'Unique name (defaults to the type).').optional();
const DEFAULT_OUTAGE_MS = 3000;
const h1PoolSize = int({ min: 1, max: 64, example: 6 }, 'HTTP/1.1 connections per pool (browsers: 6).').default(6);

/** A power-of-two limit in its own unit: 1GiB, 64MiB. */
function binarySize(bytes: number): string {
  return bytes % 2 ** 30 === 0 ? `${bytes / 2 ** 30}GiB` : `${bytes / 2 ** 20}MiB`;
}

/** A size up to `limitBytes`; a larger one is refused with the message `tooLarge` writes. */
const limitedSize = (description: string, limitBytes: number, tooLarge: (bytes: number) => string) =>
  size(`${description} At most ${binarySize(limitBytes)}.`).superRefine((bytes, ctx) => {
    if (bytes > limitBytes) ctx.addIssue({ code: 'custom', input: bytes, message: tooLarge(bytes) });
  });

const MAX_RESPONSE = binarySize(DEFAULT_MAX_BODY_BYTES);
/** A response body size: never more than the servers send (every larger request would be answered 413). */
const responseSize = (description: string) =>
  limitedSize(description, DEFAULT_MAX_BODY_BYTES, (bytes) =>
    message(
      `${tidy(bytes)} bytes is more than the servers send in one response`,
      `a size up to ${MAX_RESPONSE} (${DEFAULT_MAX_BODY_BYTES} bytes, the built-in servers' limit)`,
      `Use at most ${MAX_RESPONSE} per response.`,
    ),
  );

const MAX_PAGE_BODY = binarySize(PAGE_LIMITS.maxBodyBytes);
/** A page's document or subresource size: the page workload reads every body of a page whole, so its limit is lower. */
const pageBodySize = (description: string) =>
  limitedSize(description, PAGE_LIMITS.maxBodyBytes, (bytes) =>
    message(
      `${tidy(bytes)} bytes is more than a page's body may be`,
      `a size up to ${MAX_PAGE_BODY} (${PAGE_LIMITS.maxBodyBytes} bytes; the page workload reads every body of a page whole)`,
      `Use at most ${MAX_PAGE_BODY} per document or subresource; large downloads belong to a \`throughput\` workload.`,
    ),
  );

const sizeList = (description: string) => list(responseSize('Response size.'), 'size', '[1KB, 100KB]', description);

/** `size` or `sizes`, resolved to a list of bytes. */
function sizesOf(w: { size?: number; sizes?: number[] }, fallback: number): number[] {
  return w.sizes ?? [w.size ?? fallback];
}

const requestsWorkloadSchema = mapping(
  {
    type: z.literal('requests').describe('N requests of given sizes at concurrency C over one or more connections.'),
    name: workloadName,
    requests: int({ min: 1, max: 10_000_000, example: 200 }, 'Measured requests.').default(100),
    concurrency: int({ min: 1, max: 10_000, example: 10 }, 'Requests in flight at once.').default(10),
    connections: int({ min: 1, max: 1000, example: 1 }, 'h2/h3 connections (h1: pools of up to h1PoolSize connections).').default(1),
    h1PoolSize,
    size: responseSize('Response size (default 10KB).').optional(),
    sizes: sizeList('Response sizes, cycled over the requests.').optional(),
    warmup: int({ min: 0, max: 1_000_000, example: 10 }, 'Requests sent first and not measured.').default(0),
  },
  'a requests workload',
)
  .superRefine((w, ctx) => exclusive(w, 'size', 'sizes', ctx, 'one size or a list of sizes'))
  .transform((w) => ({
    type: w.type,
    name: w.name ?? w.type,
    requests: w.requests,
    concurrency: w.concurrency,
    connections: w.connections,
    h1PoolSize: w.h1PoolSize,
    sizes: sizesOf(w, 10_000),
    warmup: w.warmup,
  }));

const handshakeWorkloadSchema = mapping(
  {
    type: z.literal('handshake').describe('New connections, one object each: cold, resumed and 0-RTT setup cost.'),
    name: workloadName,
    modes: list(oneOf([...HANDSHAKE_MODES] as [HandshakeMode, ...HandshakeMode[]], 'handshake mode', 'cold, resumed (session ticket) or 0rtt (early data).'), 'mode', '[cold, resumed, 0rtt]', 'Handshake modes to measure.').default([...HANDSHAKE_MODES]),
    connections: int({ min: 1, max: 100_000, example: 20 }, 'New connections per mode.').default(20),
    parallel: int({ min: 1, max: 1000, example: 1 }, 'Connections at once (1 = one after another).').default(1),
    size: responseSize('Size of the object each connection fetches.').prefault('1KB'),
  },
  'a handshake workload',
).transform((w) => ({
  type: w.type,
  name: w.name ?? w.type,
  modes: w.modes,
  connections: w.connections,
  parallel: w.parallel,
  size: w.size,
}));

const multiplexWorkloadSchema = mapping(
  {
    type: z.literal('multiplex').describe('Many concurrent requests on one connection (h1: a pool of 6) under loss: head-of-line blocking.'),
    name: workloadName,
    requests: int({ min: 1, max: 100_000, example: 100 }, 'Concurrent requests per round.').default(100),
    size: responseSize('Response size (default 10KB).').optional(),
    sizes: sizeList('Response sizes, cycled over the requests.').optional(),
    rounds: int({ min: 1, max: 100_000, example: 10 }, 'Rounds per repetition.').default(10),
    reference: bool('Also measure the same requests with loss removed from the link, in the same run.').default(true),
    h1PoolSize,
  },
  'a multiplex workload',
)
  .superRefine((w, ctx) => exclusive(w, 'size', 'sizes', ctx, 'one size or a list of sizes'))
  .transform((w) => ({
    type: w.type,
    name: w.name ?? w.type,
    requests: w.requests,
    sizes: sizesOf(w, 10_000),
    rounds: w.rounds,
    reference: w.reference,
    h1PoolSize: w.h1PoolSize,
  }));

const pageWorkloadSchema = mapping(
  {
    type: z.literal('page').describe('A page as browsers load it: an HTML document, then the subresources it names.'),
    name: workloadName,
    resources: int({ min: 0, max: PAGE_LIMITS.maxFanOut, example: 20 }, 'Subresources per document (and per nested stylesheet).').default(20),
    depth: int({ min: 1, max: PAGE_LIMITS.maxDepth, example: 1 }, 'Levels of documents (1 = HTML and its subresources).').default(1),
    sizes: mapping(
      {
        html: pageBodySize('HTML document size (padded with a comment when its markup is shorter).').prefault('20KB'),
        resource: pageBodySize('Subresource size.').prefault('10KB'),
      },
      'page sizes {html, resource}',
    )
      .describe('Sizes of the document and of each subresource.')
      .prefault({}),
    loads: int({ min: 1, max: 100_000, example: 10 }, 'Page loads per repetition, each on new connections.').default(10),
    h1PoolSize,
  },
  'a page workload',
).transform((w) => ({
  type: w.type,
  name: w.name ?? w.type,
  resources: w.resources,
  depth: w.depth,
  sizes: w.sizes,
  loads: w.loads,
  h1PoolSize: w.h1PoolSize,
}));

const migrationWorkloadSchema = mapping(
  {
    type: z.literal('migration').describe('Requests at a fixed rate and a long download while the client moves at `moveAt`: connection migration against reconnecting.'),
    name: workloadName,
    mode: oneOf(
      MIGRATION_MODES,
      'migration mode',
      '`handover`: the path goes dark and another path (its own client address) takes over, the client is told; `rebind`: a NAT rebinding the client is not told of (userspace backend); `outage`: the path goes dark for `outage` and comes back.',
    ).default('handover'),
    moveAt: duration('When the client moves, from the start of the activity.').prefault('5s'),
    duration: duration('How long requests are issued; those in flight then are awaited.').prefault('15s'),
    outage: duration('`mode: outage` only: how long the path stays dark (default 3s).').optional(),
    to: text('a path name', 'lte', '`mode: handover` only: the path to move to (default: the second path).').optional(),
    silenceTimeout: duration(
      'HTTP/1.1 and HTTP/2: a connection with requests in flight that receives nothing for this long is given up and its requests go again on a new one (a client that only receives hears no reset from a NAT that forgot it).',
    ).prefault('5s'),
    rate: int({ min: 1, max: 1000, example: 20 }, 'Small requests per second, issued on schedule.').default(20),
    size: responseSize('Response size of each small request.').prefault('10KB'),
    download: responseSize('Size of the long download, fetched again and again while the activity runs.').prefault('10MB'),
    h1PoolSize,
  },
  'a migration workload',
)
  .superRefine((w, ctx) => {
    if (w.moveAt >= w.duration) {
      ctx.addIssue({
        code: 'custom',
        path: ['moveAt'],
        input: w.moveAt,
        message: message(`the move at ${tidy(w.moveAt / 1000)}s comes after the activity ends (\`duration: ${tidy(w.duration / 1000)}s\`)`, 'a move time shorter than `duration`', `Move earlier, or make \`duration\` longer than ${tidy(w.moveAt / 1000)}s.`),
      });
    }
    if (w.outage !== undefined && w.mode !== 'outage') {
      ctx.addIssue({ code: 'custom', path: ['outage'], input: w.outage, message: message(`\`outage\` has no effect with \`mode: ${w.mode}\``, '`outage` only with `mode: outage`', 'Remove `outage`, or set `mode: outage`.') });
    }
    if (w.mode === 'outage' && w.moveAt + (w.outage ?? DEFAULT_OUTAGE_MS) > w.duration) {
      ctx.addIssue({
        code: 'custom',
        path: [w.outage === undefined ? 'moveAt' : 'outage'],
        input: w.outage,
        message: message('the path would still be dark when the activity ends', '`moveAt` + `outage` within `duration`', 'Shorten the outage, move earlier, or make `duration` longer.'),
      });
    }
    if (w.silenceTimeout <= 0) {
      ctx.addIssue({ code: 'custom', path: ['silenceTimeout'], input: 0, message: message('a silence timeout of 0 gives up every connection at once', 'a positive duration', 'Write e.g. `silenceTimeout: 5s`.') });
    }
    if (w.to !== undefined && w.mode !== 'handover') {
      ctx.addIssue({ code: 'custom', path: ['to'], input: w.to, message: message(`\`to\` has no effect with \`mode: ${w.mode}\``, '`to` only with `mode: handover`', 'Remove `to`, or set `mode: handover`.') });
    }
  })
  .transform((w) => ({
    type: w.type,
    name: w.name ?? w.type,
    mode: w.mode,
    moveAtMs: w.moveAt,
    durationMs: w.duration,
    outageMs: w.outage ?? DEFAULT_OUTAGE_MS,
    ...(w.to !== undefined && { to: w.to }),
    silenceTimeoutMs: w.silenceTimeout,
    rate: w.rate,
    size: w.size,
    download: w.download,
    h1PoolSize: w.h1PoolSize,
  }));

/** Open loop: outstanding requests beyond which arrivals are dropped, unless the scenario says. */
const DEFAULT_MAX_IN_FLIGHT = 1000;

const MAX_LOAD_RATE = 1_000_000;
const MAX_LOAD_CONCURRENCY = 10_000;
const loadRate = (description: string) => int({ min: 1, max: MAX_LOAD_RATE, example: 200 }, description);
const loadConcurrency = (description: string) => int({ min: 1, max: MAX_LOAD_CONCURRENCY, example: 8 }, description);
const LOAD_LEVEL_KEYS = ['rate', 'rates', 'concurrency', 'concurrencies'] as const;

/** Client workers of a load workload: processes under the client, each with a share of it. */
const MAX_CLIENT_WORKERS = 64;
const clientWorkersSchema = (() => {
  const expected = `a whole number from 1 to ${MAX_CLIENT_WORKERS}, or \`auto\``;
  const fix = `Write e.g. \`${KEY}: 2\` or \`${KEY}: auto\`.`;
  const range = (iss: { input?: unknown }) => message(`${show(iss.input)} is out of range`, expected, fix);
  return z
    .union([z.literal('auto'), z.number().int().min(1, { error: range }).max(MAX_CLIENT_WORKERS, { error: range })], {
      error: (iss) => {
        if (typeof iss.input === 'number') return message(`${show(iss.input)} is not a whole number`, expected, fix);
        if (typeof iss.input === 'string' && Number.isNaN(Number(iss.input))) {
          return message(`unknown value ${describeValue(iss.input).replace(/^the string /, '')}`, expected, closest(iss.input, ['auto'], { ignoreCase: true }) ? 'Did you mean `auto`?' : fix);
        }
        return typeMessage(iss.input, expected, '2');
      },
    })
    .describe(
      'Worker processes of the client that send this workload\'s requests, each on its own connections with its share of the requesters (closed loop) or of the arrivals (open loop, one schedule from one start), their histograms added exactly and their CPU counted. `auto`: half the cores of the machine (the server under test and the link need the rest), at most `connections` and the lowest concurrency or `maxInFlight`. Default 1: the client process alone.',
    );
})();

const loadWorkloadSchema = mapping(
  {
    type: z
      .literal('load')
      .describe('Requests at increasing load, one step per rate (open loop) or concurrency (closed loop): latency against throughput, CPU and bytes per request.'),
    name: workloadName,
    rate: loadRate('Open loop: requests per second, each sent at its intended time whatever became of the earlier ones; latency counts from that time (coordinated omission corrected).').optional(),
    rates: list(loadRate('Requests per second.'), 'rate', '[100, 200, 400]', 'Open loop sweep: one step per rate, in increasing order.').optional(),
    concurrency: loadConcurrency('Closed loop: requesters, each sending its next request when its last answer came.').optional(),
    concurrencies: list(loadConcurrency('Requesters.'), 'concurrency', '[1, 4, 16]', 'Closed loop sweep: one step per concurrency, in increasing order.').optional(),
    duration: duration('How long each step sends requests; its last answers are awaited after.').prefault('5s'),
    maxInFlight: int(
      { min: 1, max: 100_000, example: 1000 },
      'Open loop only: an arrival due while this many requests are outstanding is dropped and counted (the client could not keep up).',
    ).optional(),
    connections: int({ min: 1, max: 1000, example: 1 }, 'h2/h3 connections (h1: pools of up to h1PoolSize connections).').default(1),
    h1PoolSize,
    size: responseSize('Response size.').prefault('1KB'),
    clientWorkers: clientWorkersSchema.default(1),
    client: oneOf(
      LOAD_CLIENTS as [LoadClient, ...LoadClient[]],
      'load client',
      "Which HTTP client sends the h1 and h2 requests: `lean`, bench's own clients written for load (HTTP/2: one frame parser per socket read, one header block per path; HTTP/1.1: one request head per path, a small response parser), or `library`, the drivers every other workload uses (undici, node:http2). h3 has its one client. Recorded per cell.",
    ).default('lean'),
  },
  'a load workload',
)
  .superRefine((w, ctx) => {
    const given = LOAD_LEVEL_KEYS.filter((k) => w[k] !== undefined);
    if (given.length === 0) {
      ctx.addIssue({
        code: 'custom',
        input: w,
        message: message('no load given', 'one of `rate`, `rates` (open loop), `concurrency` or `concurrencies` (closed loop)', 'Add e.g. `rates: [100, 200, 400]`.'),
      });
    }
    if (given.length > 1) {
      ctx.addIssue({
        code: 'custom',
        path: [given[1]!],
        input: w[given[1]!],
        message: message(`\`${given[0]}\` and \`${given[1]}\` are both set`, 'one of `rate`, `rates`, `concurrency` or `concurrencies`', `Remove \`${given[0]}\` or \`${given[1]}\`.`),
      });
    }
    for (const key of ['rates', 'concurrencies'] as const) {
      const levels = w[key];
      const i = levels?.findIndex((v, j) => j > 0 && v <= levels[j - 1]!) ?? -1;
      if (levels && i > 0) {
        ctx.addIssue({
          code: 'custom',
          path: [key, i],
          input: levels[i],
          message: message(`${levels[i]} is not more than the ${levels[i - 1]} before it`, `\`${key}\` in increasing order (the knee is found from the lowest step up)`, 'Sort the list and remove repeated values.'),
        });
      }
    }
    if (w.maxInFlight !== undefined && (w.concurrency !== undefined || w.concurrencies !== undefined)) {
      ctx.addIssue({
        code: 'custom',
        path: ['maxInFlight'],
        input: w.maxInFlight,
        message: message('`maxInFlight` has no effect in a closed loop', '`maxInFlight` only with `rate` or `rates`', 'Remove `maxInFlight`: a closed loop has `concurrency` requests in flight.'),
      });
    }
    if (w.duration <= 0) {
      ctx.addIssue({ code: 'custom', path: ['duration'], input: 0, message: message('a step of 0 s sends nothing', 'a positive duration', 'Write e.g. `duration: 5s`.') });
    }
    const lowestRate = w.rates?.[0] ?? w.rate;
    if (w.duration > 0 && lowestRate !== undefined && (lowestRate * w.duration) / 1000 < 1) {
      ctx.addIssue({
        code: 'custom',
        path: ['duration'],
        input: w.duration,
        message: message(`${lowestRate} request/s for ${tidy(w.duration / 1000)}s schedules no request`, 'a step long enough for at least one arrival at the lowest rate', `Make \`duration\` at least ${tidy(1 / lowestRate)}s.`),
      });
    }
    // Each worker needs a share of its own: a connection (h1: a pool), a requester, part of the in-flight limit.
    const workers = w.clientWorkers;
    if (typeof workers === 'number' && workers > 1) {
      const lowestConcurrency = w.concurrencies?.[0] ?? w.concurrency;
      const inFlight = w.rate !== undefined || w.rates !== undefined ? (w.maxInFlight ?? DEFAULT_MAX_IN_FLIGHT) : undefined;
      const limits = [
        { value: w.connections, has: `\`connections: ${w.connections}\``, needs: 'a connection of its own (HTTP/1.1: a pool)', raise: '`connections`' },
        { value: lowestConcurrency, has: w.concurrencies ? `the lowest concurrency ${lowestConcurrency}` : `\`concurrency: ${lowestConcurrency}\``, needs: 'a requester of its own at every step', raise: w.concurrencies ? 'the lowest of `concurrencies`' : '`concurrency`' },
        { value: inFlight, has: `\`maxInFlight: ${inFlight}\``, needs: 'a part of `maxInFlight` of its own', raise: '`maxInFlight`' },
      ];
      const short = limits.find((l) => l.value !== undefined && l.value < workers);
      if (short) {
        ctx.addIssue({
          code: 'custom',
          path: ['clientWorkers'],
          input: workers,
          message: message(
            `${workers} client workers with ${short.has}`,
            `at most ${short.value} workers: each needs ${short.needs}`,
            `Lower \`clientWorkers\` to ${short.value} (or \`auto\`), or raise ${short.raise} to ${workers}.`,
          ),
        });
      }
    }
  })
  .transform((w) => {
    const common = {
      type: w.type,
      name: w.name ?? w.type,
      stepDurationMs: w.duration,
      connections: w.connections,
      h1PoolSize: w.h1PoolSize,
      size: w.size,
      clientWorkers: w.clientWorkers,
      client: w.client,
    };
    if (w.rate !== undefined || w.rates !== undefined) {
      return { ...common, loop: 'open' as const, levels: w.rates ?? [w.rate!], maxInFlight: w.maxInFlight ?? DEFAULT_MAX_IN_FLIGHT };
    }
    return { ...common, loop: 'closed' as const, levels: w.concurrencies ?? [w.concurrency!] };
  });

/** The throughput workload's download sizes: at least 1 MB, at most what the servers send. */
const MIN_DOWNLOAD_BYTES = 1_000_000;
const downloadSize = (description: string) =>
  responseSize(`${description} At least 1MB.`).superRefine((bytes, ctx) => {
    if (bytes < MIN_DOWNLOAD_BYTES) {
      ctx.addIssue({
        code: 'custom',
        input: bytes,
        message: message(`${tidy(bytes)} bytes is too small to measure throughput`, `a size from 1MB to ${MAX_RESPONSE}`, 'Use e.g. `size: 25MB`; small objects belong to a `requests` workload.'),
      });
    }
  });

/** A receive window both HTTP/2 and QUIC can advertise (RECEIVE_WINDOW_LIMITS). */
const receiveWindow = (description: string) =>
  size(`${description} From 65535 bytes to 2GiB - 1 (HTTP/2's limit; QUIC takes the same).`).superRefine((bytes, ctx) => {
    const { min, max } = RECEIVE_WINDOW_LIMITS;
    if (bytes < min || bytes > max) {
      ctx.addIssue({
        code: 'custom',
        input: bytes,
        message: message(
          `${tidy(bytes)} bytes is ${bytes < min ? 'below 65,535 bytes (HTTP/2\u2019s initial window)' : 'more than HTTP/2 can advertise (2^31 - 1, RFC 9113 6.9.1)'}`,
          `a window from ${min} to ${max} bytes, which HTTP/2 and HTTP/3 can both set`,
          'Write e.g. `stream: 6MiB`, `connection: 15MiB` (Chromium\u2019s).',
        ),
      });
    }
  });

const throughputWorkloadSchema = mapping(
  {
    type: z.literal('throughput').describe('Bulk downloads, one or several at once: goodput, its course over time, and the time to complete.'),
    name: workloadName,
    size: downloadSize('Size of each download.').prefault('25MB'),
    parallel: int({ min: 1, max: 100, example: 4 }, 'Downloads at once: streams of one connection for h2 and h3, one connection each for h1 (as browsers do).').default(1),
    rounds: int({ min: 1, max: 1000, example: 5 }, 'Rounds per repetition, each on new connections; goodput and time to complete are the median over rounds.').default(5),
    windows: mapping(
      {
        stream: receiveWindow('Receive window per stream.').prefault(DEFAULT_RECEIVE_WINDOWS.streamBytes),
        connection: receiveWindow('Receive window per connection.').prefault(DEFAULT_RECEIVE_WINDOWS.connectionBytes),
      },
      'receive windows {stream, connection}',
    )
      .describe('Flow-control receive windows the HTTP/2 and HTTP/3 clients advertise, set alike (default Chromium\u2019s: 6MiB per stream, 15MiB per connection). HTTP/1.1 has none; TCP\u2019s own receive window is the kernel\u2019s.')
      .prefault({}),
  },
  'a throughput workload',
).transform((w) => ({
  type: w.type,
  name: w.name ?? w.type,
  size: w.size,
  parallel: w.parallel,
  rounds: w.rounds,
  windows: { streamBytes: w.windows.stream, connectionBytes: w.windows.connection },
}));

const WORKLOAD_SCHEMAS = [
  requestsWorkloadSchema,
  handshakeWorkloadSchema,
  multiplexWorkloadSchema,
  pageWorkloadSchema,
  migrationWorkloadSchema,
  loadWorkloadSchema,
  throughputWorkloadSchema,
] as const;

const workloadSchema = z.discriminatedUnion('type', WORKLOAD_SCHEMAS, {
  error: (iss) => {
    const input = iss.input;
    const expected = `a workload type: one of ${WORKLOAD_TYPES.join(', ')}`;
    if (input === null || typeof input !== 'object' || Array.isArray(input)) {
      return typeMessage(input, 'a workload mapping {type, ...}', '{type: requests}');
    }
    const type = (input as Record<string, unknown>).type;
    if (type === undefined) return message('missing', expected, 'Add `type: requests`.');
    if (typeof type !== 'string') return typeMessage(type, expected, 'requests');
    const guess = closest(type, WORKLOAD_TYPES, { ignoreCase: true });
    return message(`unknown workload type ${JSON.stringify(type)}`, expected, guess ? `Did you mean \`${guess}\`?` : `Use one of ${listOf(WORKLOAD_TYPES)}.`);
  },
});

/* ----------------------------------------------------------------------------------------------
 * The document
 * -------------------------------------------------------------------------------------------- */

const protocolSchema = oneOf(PROTOCOLS as [Protocol, ...Protocol[]], 'protocol', 'h1 (HTTP/1.1), h2 (HTTP/2) or h3 (HTTP/3).');

const ASSERTION_EXAMPLE = 'h3.small.latency.p99 < h2.small.latency.p99';
const assertionText = text(
  'an assertion',
  ASSERTION_EXAMPLE,
  'A comparison `<protocol>.<workload>.<metric> <op> <bound>`: the bound is a value in the metric\'s unit (`2.2 rtt`, `150ms`), another metric (`h2.small.latency.p99`, optionally times a factor) or a multiple of the baseline run (`0.9 baseline`).',
);
const assertionSchema = z
  .union(
    [
      assertionText.transform((check) => ({ check, level: 'error' as const, short: true })),
      mapping(
        {
          check: assertionText,
          level: oneOf(['warn', 'error'] as const, 'level', '`error` (a failure exits 1) or `warn` (reported only).').default('error'),
        },
        'an assertion {check, level}',
      ).transform((a) => ({ ...a, short: false })),
    ],
    { error: (iss) => typeMessage(iss.input, `an assertion: a string such as \`${ASSERTION_EXAMPLE}\`, or {check, level}`, `"${ASSERTION_EXAMPLE}"`) },
  )
  .describe('One check of the results, evaluated after the run (and by `bench gate`); a failed `error` check exits 1.');

const referenceSchema = mapping(
  {
    source: text('a citation', 'Liu et al. 2024, arXiv 2409.16267', 'The study whose setting the scenario reproduces.'),
    claims: list(
      mapping(
        {
          workload: text('a workload name', 'multiplex', 'The workload whose figure the claim is about.'),
          metric: text('a metric id', 'latency.p50', "A metric of that workload (the catalogue's ids, as in `assert:`)."),
          says: text('a sentence', 'HTTP/3 degrades less than HTTP/2 as loss grows', 'What the study found, in its words.'),
        },
        'a claim {workload, metric, says}',
      ),
      'claim',
      '[{workload: multiplex, metric: latency.p50, says: ...}]',
      "What the study found, each printed in the report beside bench's figures for that metric.",
    ),
  },
  'a reference {source, claims}',
).describe("A published study's findings in this setting, shown in the report beside what bench measured.");

export const scenarioDocumentSchema = mapping(
  {
    name: identifier('scenario name', 'smoke', 'Scenario name, used in report paths (defaults to the file name).').optional(),
    description: text('a sentence', 'What this scenario shows', 'What this scenario shows, for the report.').default(''),
    protocols: list(protocolSchema, 'protocol', '[h1, h2, h3]', 'Protocols to compare (default all three).').default([...PROTOCOLS]),
    repetitions: int({ min: 1, max: 1000, example: 3 }, 'Repetitions of every (network, protocol, workload) cell, in interleaved protocol order.').default(3),
    seed: int({ min: 0, max: 2 ** 32 - 1, example: 1 }, 'Seed of the link emulation\'s random decisions (loss, jitter, reordering) with the userspace backend; the kernel\'s netem cannot be seeded.').default(1),
    network: networkSchema.default('none'),
    sweep: sweepSchema.optional(),
    servers: serversSchema.prefault('builtin'),
    scheduling: oneOf(
      STREAM_SCHEDULING as readonly [StreamScheduling, ...StreamScheduling[]],
      'scheduling',
      "How bench's own HTTP/2 and HTTP/3 servers share a connection among the responses under way, set alike for both: `sequential` (default: one after the other in request order, RFC 9218's default for requests without a Priority field) or `round-robin` (they take turns: HTTP/2 a DATA frame each, HTTP/3 a packet each). The scheduler decides how many streams one loss holds up.",
    ).optional(),
    tls: tlsSchema.optional(),
    workloads: list(workloadSchema, 'workload', '[{type: requests}]', 'What to measure: a list of workloads, run in order.'),
    assert: list(assertionSchema, 'assertion', `["${ASSERTION_EXAMPLE}"]`, 'Checks of the results: the CI gate.').optional(),
    reference: referenceSchema.optional(),
    timeouts: mapping(
      {
        request: duration('Per-request timeout.').prefault('30s'),
        cell: duration('Timeout for one (protocol, workload, repetition) cell.').prefault('5m'),
      },
      'timeouts {request, cell}',
    )
      .describe('Timeouts.')
      .prefault({}),
  },
  'a scenario {name, protocols, network, workloads, ...}',
)
  .superRefine((doc, ctx) => {
    doc.protocols.forEach((p, i) => {
      const first = doc.protocols.indexOf(p);
      if (first !== i) {
        ctx.addIssue({ code: 'custom', path: ['protocols', i], input: p, message: message(`\`${p}\` is listed twice`, 'each protocol once', `Remove the second \`${p}\`.`) });
      }
    });
    const seen = new Map<string, number>();
    doc.workloads.forEach((w, i) => {
      const first = seen.get(w.name);
      if (first !== undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['workloads', i, 'name'],
          input: w.name,
          message: message(`workload name \`${w.name}\` is already used by workloads[${first}]`, 'unique workload names', 'Give this workload its own `name:`.'),
        });
      } else seen.set(w.name, i);
    });
    if (doc.timeouts.request <= 0 || doc.timeouts.cell <= 0) {
      const key = doc.timeouts.request <= 0 ? 'request' : 'cell';
      ctx.addIssue({ code: 'custom', path: ['timeouts', key], input: 0, message: message('a timeout of 0 never lets anything finish', 'a positive duration', `Write e.g. \`${key}: 30s\`.`) });
    }
  })
  .describe('A bench scenario: which protocols to compare, on which network, with which workloads.');

export type ScenarioDocument = z.output<typeof scenarioDocumentSchema>;

/** Loss settings from a direction input, as the link model's LossModel (undefined = unchanged). */
export function lossModelOf(d: DirectionInput, current: LossModel): LossModel | undefined {
  if (d.gilbertElliott) {
    const g = d.gilbertElliott;
    return { model: 'gilbert-elliott', p: g.p, r: g.r, oneMinusH: g.lossInBad, oneMinusK: g.lossInGood };
  }
  if (d.loss !== undefined) {
    if (d.loss === 0) return { model: 'none' };
    return { model: 'random', probability: d.loss, correlation: d.lossCorrelation ?? (current.model === 'random' ? current.correlation : 0) };
  }
  if (d.lossCorrelation !== undefined && current.model === 'random') return { ...current, correlation: d.lossCorrelation };
  return undefined;
}
