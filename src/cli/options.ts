/** Pure parsing of CLI option values: tested without starting anything. */
import { PROTOCOLS, type Protocol } from '../drivers/types.ts';
import { describeProblem, parseDuration, parsePercent } from '../scenario/units.ts';
import { UserError } from '../util/errors.ts';

export function parseProtocolList(value: string, flag = '--protocols'): Protocol[] {
  const items = value
    .split(',')
    .map((s) => s.trim().toLowerCase())
    .filter(Boolean);
  if (items.length === 0) throw new UserError('E_ARG', `${flag}: give at least one of ${PROTOCOLS.join(', ')}`);
  for (const item of items) {
    if (!(PROTOCOLS as readonly string[]).includes(item)) {
      throw new UserError('E_ARG', `${flag}: unknown protocol "${item}", expected a comma-separated list of ${PROTOCOLS.join(', ')} (e.g. ${flag} h2,h3)`);
    }
  }
  return [...new Set(items)] as Protocol[];
}

export function parseProtocol(value: string, flag = '--protocol'): Protocol {
  const list = parseProtocolList(value, flag);
  if (list.length !== 1) throw new UserError('E_ARG', `${flag}: give exactly one of ${PROTOCOLS.join(', ')}`);
  return list[0]!;
}

export function parsePositiveInt(value: string, flag: string, opts: { min?: number; max?: number } = {}): number {
  const min = opts.min ?? 1;
  const max = opts.max ?? Number.MAX_SAFE_INTEGER;
  if (!/^\d+$/.test(value.trim())) {
    throw new UserError('E_ARG', `${flag}: expected a whole number, got "${value}" (e.g. ${flag} ${Math.max(min, 3)})`);
  }
  const n = Number(value);
  if (n < min || n > max) throw new UserError('E_ARG', `${flag}: ${n} is out of range, expected ${min}..${max}`);
  return n;
}

export function parsePort(value: string, flag = '--port'): number {
  return parsePositiveInt(value, flag, { min: 1, max: 65535 });
}

export interface ParsedUrl {
  host: string;
  port: number;
  path: string;
  servername: string;
}

export function parseHttpsUrl(value: string): ParsedUrl {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new UserError('E_ARG', `"${value}" is not a URL; expected e.g. https://127.0.0.1:8443/bytes/1000`);
  }
  if (url.protocol !== 'https:') {
    throw new UserError('E_ARG', `${value}: only https:// URLs are supported (HTTP/2 and HTTP/3 need TLS)`);
  }
  const host = url.hostname.replace(/^\[|\]$/g, '');
  return {
    host,
    port: url.port ? Number(url.port) : 443,
    path: `${url.pathname}${url.search}` || '/',
    servername: host,
  };
}

/** `--max-regression 10%` -> 0.1 (the scenario's percentage parser: `10%`, not a bare 0.1). */
export function parsePercentOption(value: string, flag: string): number {
  const parsed = parsePercent(value);
  if (!parsed.ok) throw new UserError('E_ARG', `${flag}: ${describeProblem(parsed.problem)}`);
  if (parsed.value <= 0 || parsed.value >= 1) throw new UserError('E_ARG', `${flag}: ${value} leaves no room, expected a percentage between 0% and 100% (e.g. ${flag} 10%)`);
  return parsed.value;
}

/** `--server-delay 2ms` -> 2 (ms; the scenario's duration parser). */
export function parseDurationOption(value: string, flag: string, opts: { maxMs: number }): number {
  const parsed = parseDuration(value);
  if (!parsed.ok) throw new UserError('E_ARG', `${flag}: ${describeProblem(parsed.problem)}`);
  if (parsed.value > opts.maxMs) throw new UserError('E_ARG', `${flag}: ${value} is longer than ${opts.maxMs} ms, expected at most ${opts.maxMs}ms`);
  if (!Number.isInteger(parsed.value)) {
    throw new UserError('E_ARG', `${flag}: ${value} is finer than the servers' timers, expected whole milliseconds (e.g. ${flag} ${Math.max(1, Math.round(parsed.value))}ms)`);
  }
  return parsed.value;
}

/** bench doctor --backend: which link --measure measures. */
export function parseBackendOption(value: string, flag = '--backend'): 'kernel' | 'userspace' | 'all' {
  const v = value.trim().toLowerCase();
  if (v === 'kernel' || v === 'userspace' || v === 'all') return v;
  throw new UserError('E_ARG', `${flag}: unknown link "${value}", expected kernel, userspace or all (e.g. ${flag} kernel)`);
}
