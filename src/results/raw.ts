/**
 * Reads raw.jsonl (one JSON event per line, appended during the run). A killed run can leave a
 * truncated last line: it is ignored and reported, never fatal. Unreadable lines elsewhere are
 * skipped and counted, so one bad line does not cost the rest of the run.
 */
import { existsSync, readFileSync } from 'node:fs';
import type { RawEvent } from './events.ts';

export type { RawEvent };

export interface RawLogSummary {
  events: number;
  /** The file ended in an incomplete line (run interrupted mid-write). */
  truncatedTail: boolean;
  /** Complete lines that were not a JSON object with a string `type`. */
  skipped: number;
}

export interface RawLog extends RawLogSummary {
  list: RawEvent[];
  /** 1-based line numbers of the skipped lines (first 20), for diagnostics. */
  skippedLines: number[];
}

export function parseRawJsonl(text: string): RawLog {
  const list: RawEvent[] = [];
  const skippedLines: number[] = [];
  let skipped = 0;
  let truncatedTail = false;
  const lines = text.split('\n');
  const endsWithNewline = text.endsWith('\n');
  lines.forEach((line, i) => {
    if (line.trim() === '') return;
    const isLast = i === lines.length - 1;
    const event = parseLine(line);
    if (event) {
      list.push(event);
    } else if (isLast && !endsWithNewline) {
      truncatedTail = true;
    } else {
      skipped++;
      if (skippedLines.length < 20) skippedLines.push(i + 1);
    }
  });
  return { list, events: list.length, truncatedTail, skipped, skippedLines };
}

function parseLine(line: string): RawEvent | undefined {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  if (typeof (value as { type?: unknown }).type !== 'string') return undefined;
  return value as RawEvent;
}

/** raw.jsonl at `file`, or undefined when there is none. */
export function readRawLog(file: string): RawLog | undefined {
  if (!existsSync(file)) return undefined;
  return parseRawJsonl(readFileSync(file, 'utf8'));
}
