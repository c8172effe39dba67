/**
 * Units as people write them in scenarios, converted to base units:
 * durations -> milliseconds, percentages -> fractions 0..1, rates -> bits per second, sizes -> bytes.
 *
 * Parsers never throw: they return the value or a Problem (what is wrong, what was expected, how
 * to fix it), so the scenario loader can put the YAML position in front of it.
 * Rates follow tc's convention, k = 1000; but `Mbps` means megabits per second, as people mean it
 * (tc reads `mbps` as megabytes per second, a trap we do not copy). Byte rates are written `MB/s`.
 */
import { closest } from './suggest.ts';

export interface Problem {
  /** What is wrong with the input, e.g. `"5sec" has an unknown unit`. */
  wrong: string;
  /** What was expected, e.g. `a duration such as 50ms or 1.5s`. */
  expected: string;
  /** How to fix it, one sentence. */
  fix: string;
}

export type Parsed<T> = { ok: true; value: T } | { ok: false; problem: Problem };

const ok = <T>(value: T): Parsed<T> => ({ ok: true, value });
const fail = (wrong: string, expected: string, fix: string): Parsed<never> => ({
  ok: false,
  problem: { wrong, expected, fix },
});

/** Renders a Problem as `<wrong>, expected <expected>. <fix>`. */
export function describeProblem(p: Problem): string {
  return `${p.wrong}, expected ${p.expected}.${p.fix ? ` ${p.fix}` : ''}`;
}

/** Shows an input value as it appeared (strings quoted). */
export function show(input: unknown): string {
  if (typeof input === 'string') return JSON.stringify(input);
  if (input === null) return 'null';
  if (Array.isArray(input)) return 'a list';
  if (typeof input === 'object') return 'a mapping';
  return String(input);
}

/** Formats a number without float noise (0.02 * 100 -> 2, not 2.0000000000000004). */
export function tidy(n: number): string {
  return String(Number(n.toPrecision(12)));
}

const NUMBER_WITH_UNIT = /^\s*(-?)(\d+(?:\.\d+)?|\.\d+)\s*(\S*)\s*$/;

interface Split {
  negative: boolean;
  magnitude: number;
  unit: string;
}

function split(text: string): Split | undefined {
  const m = NUMBER_WITH_UNIT.exec(text);
  if (!m) return undefined;
  return { negative: m[1] === '-', magnitude: Number(m[2]), unit: m[3]! };
}

function typoFix(number: string, unit: string, units: readonly string[], examples: string): string {
  // Unit lists are ordered by how often people mean them: on a tie, the first wins (`kbb` -> KB).
  const guess = closest(unit, units, { ignoreCase: true, onTie: 'first' });
  return guess ? `Did you mean \`${number}${guess}\`?` : `Write it like ${examples}.`;
}

/* ----------------------------------------------------------------------------------------------
 * Durations
 * -------------------------------------------------------------------------------------------- */

const DURATION_UNITS: Record<string, number> = { us: 0.001, µs: 0.001, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const DURATION_EXPECTED = 'a duration: a number with one of the units us, ms, s, m, h (e.g. 50ms, 1.5s, 2m)';

/** `50ms`, `1.5s`, `250us`, `2m`, `1h`, or a bare `0`; result in milliseconds. */
export function parseDuration(input: unknown): Parsed<number> {
  if (typeof input === 'number') {
    if (input === 0) return ok(0);
    return fail(`${tidy(input)} has no unit`, DURATION_EXPECTED, `Write \`${tidy(Math.abs(input))}ms\` or \`${tidy(Math.abs(input))}s\`.`);
  }
  if (typeof input !== 'string') return fail(`got ${show(input)}`, DURATION_EXPECTED, 'Write it like `50ms`.');
  const s = split(input);
  if (!s) return fail(`${show(input)} is not a duration`, DURATION_EXPECTED, 'Write it like `50ms` or `1.5s`.');
  if (s.negative) return fail(`${show(input)} is negative`, `${DURATION_EXPECTED}, zero or more`, 'Remove the minus sign.');
  if (s.unit === '') {
    if (s.magnitude === 0) return ok(0);
    return fail(`${show(input)} has no unit`, DURATION_EXPECTED, `Write \`${tidy(s.magnitude)}ms\` or \`${tidy(s.magnitude)}s\`.`);
  }
  const factor = DURATION_UNITS[s.unit];
  if (factor === undefined) {
    return fail(
      `${show(input)} has an unknown unit \`${s.unit}\``,
      DURATION_EXPECTED,
      typoFix(tidy(s.magnitude), s.unit, Object.keys(DURATION_UNITS), '`50ms` or `1.5s`'),
    );
  }
  return ok(s.magnitude * factor);
}

/* ----------------------------------------------------------------------------------------------
 * Percentages
 * -------------------------------------------------------------------------------------------- */

const PERCENT_EXPECTED = 'a percentage from 0% to 100% (e.g. 1.5%)';

function bareNumberFix(n: number): string {
  if (n > 0 && n < 1) return `Write \`${tidy(n * 100)}%\` (percentages need a % sign).`;
  if (n === 1) return 'Write `1%`, or `100%` if you meant the fraction 1.';
  return `Write \`${tidy(n)}%\` (percentages need a % sign).`;
}

/** `1.5%` or a bare `0`; result as a fraction 0..1. Bare numbers are ambiguous and rejected. */
export function parsePercent(input: unknown): Parsed<number> {
  let magnitude: number;
  if (typeof input === 'number') {
    if (input === 0) return ok(0);
    if (input < 0) return fail(`${tidy(input)} is negative`, PERCENT_EXPECTED, 'Use a value between 0% and 100%.');
    return fail(`${tidy(input)} has no % sign`, PERCENT_EXPECTED, bareNumberFix(input));
  }
  if (typeof input !== 'string') return fail(`got ${show(input)}`, PERCENT_EXPECTED, 'Write it like `1.5%`.');
  const s = split(input);
  if (!s) return fail(`${show(input)} is not a percentage`, PERCENT_EXPECTED, 'Write it like `1.5%`.');
  if (s.negative) return fail(`${show(input)} is negative`, PERCENT_EXPECTED, 'Use a value between 0% and 100%.');
  if (s.unit === '') {
    if (s.magnitude === 0) return ok(0);
    return fail(`${show(input)} has no % sign`, PERCENT_EXPECTED, bareNumberFix(s.magnitude));
  }
  if (s.unit !== '%') {
    return fail(`${show(input)} has an unknown unit \`${s.unit}\``, PERCENT_EXPECTED, `Write \`${tidy(s.magnitude)}%\`.`);
  }
  magnitude = s.magnitude;
  if (magnitude > 100) return fail(`${show(input)} is above 100%`, PERCENT_EXPECTED, 'Use a value between 0% and 100%.');
  return ok(magnitude / 100);
}

/* ----------------------------------------------------------------------------------------------
 * Rates (bits per second)
 * -------------------------------------------------------------------------------------------- */

/** Bit rates, matched case-insensitively. */
const BIT_RATE_UNITS: Record<string, number> = {
  bit: 1,
  kbit: 1e3,
  mbit: 1e6,
  gbit: 1e9,
  bps: 1,
  kbps: 1e3,
  mbps: 1e6,
  gbps: 1e9,
  'b/s': 1,
  'kb/s': 1e3,
  'mb/s': 1e6,
  'gb/s': 1e9,
};
/** Byte rates: capital B followed by /s, times 8. */
const BYTE_RATE = /^([kKmMgG]?)B\/s$/;
const BYTE_PREFIX: Record<string, number> = { '': 1, k: 1e3, m: 1e6, g: 1e9 };
const RATE_SPELLINGS = ['bit', 'kbit', 'mbit', 'gbit', 'Kbps', 'Mbps', 'Gbps', 'KB/s', 'MB/s', 'GB/s'];
const RATE_EXPECTED =
  'a rate: a number with one of the units bit, kbit, mbit, gbit, kbps, Mbps, Gbps (bits/s) or KB/s, MB/s, GB/s (bytes/s), e.g. 20mbit';

/** `20mbit`, `1.5Mbit`, `500kbit`, `1gbit`, `20Mbps`, `10MB/s` (x8); result in bits per second, > 0. */
export function parseRate(input: unknown): Parsed<number> {
  if (typeof input === 'number') {
    return fail(`${tidy(input)} has no unit`, RATE_EXPECTED, `Write \`${tidy(Math.abs(input))}mbit\` for megabits per second.`);
  }
  if (typeof input !== 'string') return fail(`got ${show(input)}`, RATE_EXPECTED, 'Write it like `20mbit`.');
  const s = split(input);
  if (!s) return fail(`${show(input)} is not a rate`, RATE_EXPECTED, 'Write it like `20mbit`.');
  if (s.negative) return fail(`${show(input)} is negative`, RATE_EXPECTED, 'Use a positive rate.');
  if (s.unit === '') return fail(`${show(input)} has no unit`, RATE_EXPECTED, `Write \`${tidy(s.magnitude)}mbit\` for megabits per second.`);
  let bps: number | undefined;
  const bytes = BYTE_RATE.exec(s.unit);
  if (bytes) bps = s.magnitude * BYTE_PREFIX[bytes[1]!.toLowerCase()]! * 8;
  else if (/Bps$/.test(s.unit)) {
    return fail(
      `${show(input)} is ambiguous (bits or bytes?)`,
      RATE_EXPECTED,
      `Write \`${tidy(s.magnitude)}Mbps\` for megabits or \`${tidy(s.magnitude)}MB/s\` for megabytes per second.`,
    );
  } else {
    const factor = BIT_RATE_UNITS[s.unit.toLowerCase()];
    if (factor !== undefined) bps = s.magnitude * factor;
  }
  if (bps === undefined) {
    return fail(
      `${show(input)} has an unknown unit \`${s.unit}\``,
      RATE_EXPECTED,
      typoFix(tidy(s.magnitude), s.unit, RATE_SPELLINGS, '`20mbit` or `500kbit`'),
    );
  }
  if (bps === 0) {
    return fail(`${show(input)} is zero`, RATE_EXPECTED, 'Leave `rate` out (or write `unlimited`) for no limit; use `blackhole: true` to drop everything.');
  }
  return ok(bps);
}

/* ----------------------------------------------------------------------------------------------
 * Sizes (bytes)
 * -------------------------------------------------------------------------------------------- */

/** Matched case-insensitively: decimal (k = 1000) and binary (Ki = 1024) prefixes. */
const SIZE_UNITS: Record<string, number> = {
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  kib: 1024,
  mib: 1024 ** 2,
  gib: 1024 ** 3,
};
const SIZE_SPELLINGS = ['B', 'KB', 'MB', 'GB', 'KiB', 'MiB', 'GiB'];
const SIZE_EXPECTED = 'a size in bytes: a whole number, or a number with one of the units B, KB, MB, GB (x1000), KiB, MiB, GiB (x1024), e.g. 10KB';

/** `512B`, `10KB` (10000), `10KiB` (10240), `2MiB`, or a bare whole number of bytes. */
export function parseSize(input: unknown): Parsed<number> {
  let bytes: number;
  if (typeof input === 'number') {
    if (input < 0) return fail(`${tidy(input)} is negative`, SIZE_EXPECTED, 'Use zero or more bytes.');
    bytes = input;
  } else if (typeof input === 'string') {
    const s = split(input);
    if (!s) return fail(`${show(input)} is not a size`, SIZE_EXPECTED, 'Write it like `10KB`.');
    if (s.negative) return fail(`${show(input)} is negative`, SIZE_EXPECTED, 'Use zero or more bytes.');
    if (s.unit === '') bytes = s.magnitude;
    else {
      const factor = SIZE_UNITS[s.unit.toLowerCase()];
      if (factor === undefined) {
        return fail(
          `${show(input)} has an unknown unit \`${s.unit}\``,
          SIZE_EXPECTED,
          typoFix(tidy(s.magnitude), s.unit, SIZE_SPELLINGS, '`10KB` or `2MiB`'),
        );
      }
      bytes = s.magnitude * factor;
    }
  } else {
    return fail(`got ${show(input)}`, SIZE_EXPECTED, 'Write it like `10KB`.');
  }
  // 1.5KiB is fine (1536 bytes); 1.0001KB is not a whole number of bytes.
  const rounded = Math.round(bytes);
  if (Math.abs(rounded - bytes) > 1e-9) {
    return fail(`${show(input)} is ${tidy(bytes)} bytes, not a whole number`, SIZE_EXPECTED, `Write \`${rounded}\` (bytes).`);
  }
  return ok(rounded);
}
