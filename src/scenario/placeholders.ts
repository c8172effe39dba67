/**
 * Placeholders of a `servers: {command}` scenario: `{{name}}` in the command and in its config
 * template, replaced by what bench prepared for the run. Double braces, because single ones belong
 * to the servers' own config languages (Caddy's `{path}`, `{host}`, `{dir}` are its placeholders).
 */
import { closest } from './suggest.ts';

export const SERVER_PLACEHOLDERS = {
  cert: "PEM file of the run's certificate, for localhost (bench's clients send SNI localhost and trust only it)",
  key: "PEM file of the certificate's private key",
  host: 'address the server must listen on (127.0.0.1, or 198.18.0.1 behind the shaped link)',
  'port.h1': 'TCP port for HTTP/1.1',
  'port.h2': 'TCP port for HTTP/2',
  'port.h3': 'UDP port for HTTP/3',
  dir: 'scratch directory of this server (logs, pid files, state), removed after the run',
  site: "document root holding every file the scenario's workloads request",
  config: 'the rendered config template (`config:`)',
} as const;

export type PlaceholderName = keyof typeof SERVER_PLACEHOLDERS;
export const PLACEHOLDER_NAMES = Object.keys(SERVER_PLACEHOLDERS) as PlaceholderName[];

const PLACEHOLDER = /\{\{\s*([^{}]*?)\s*\}\}/g;

export interface PlaceholderUse {
  name: string;
  /** Offset of the opening braces in the text. */
  index: number;
}

export function placeholdersIn(text: string): PlaceholderUse[] {
  return [...text.matchAll(PLACEHOLDER)].map((m) => ({ name: m[1]!, index: m.index! }));
}

/** The first placeholder of `text` that is not one of `allowed`, with a fix (callers list `allowed` as what was expected). */
export function unknownPlaceholder(text: string, allowed: readonly string[]): { use: PlaceholderUse; fix: string } | undefined {
  const use = placeholdersIn(text).find((u) => !allowed.includes(u.name));
  if (!use) return undefined;
  const guess = closest(use.name, allowed);
  return { use, fix: guess ? `Did you mean \`{{${guess}}}\`?` : 'Use one of those, or write the value itself.' };
}

/** Replaces every placeholder by its value (all must be known: check with unknownPlaceholder first). */
export function fillPlaceholders(text: string, values: Readonly<Partial<Record<PlaceholderName, string>>>): string {
  return text.replace(PLACEHOLDER, (whole, name: string) => values[name as PlaceholderName] ?? whole);
}
