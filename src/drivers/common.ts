/**
 * Helpers every driver (h1, h2, h3) shares, so a RequestRecord means the same thing whatever
 * protocol produced it: ids, the request timeline, header normalisation, error text.
 */
import { randomBytes } from 'node:crypto';
import { monoMs } from '../util/clock.ts';
import { BenchError, UserError } from '../util/errors.ts';
import type { ClientSession, ConnectOptions, Driver, Protocol, RequestRecord, RequestSpec, Target } from './types.ts';

// Ids are unique across processes and runs (raw.jsonl joins on them), and short.
const PROCESS_TAG = randomBytes(3).toString('hex');
let counter = 0;

export function newConnectionId(protocol: Protocol): string {
  return `${protocol}-c${PROCESS_TAG}-${(++counter).toString(36)}`;
}

export function newRequestId(protocol: Protocol): string {
  return `${protocol}-r${PROCESS_TAG}-${(++counter).toString(36)}`;
}

/** The :authority / Host value: the TLS name when one is given, else the address. */
export function authorityOf(target: Target): string {
  const host = target.servername ?? target.host;
  return `${host.includes(':') ? `[${host}]` : host}:${target.port}`;
}

/** A request with no complete response within its timeout (ConnectOptions.requestTimeoutMs). */
export class RequestTimeoutError extends BenchError {
  constructor(readonly timeoutMs: number) {
    super('E_REQUEST_TIMEOUT', `no complete response within the request timeout (${timeoutMs} ms)`);
  }
}

/**
 * One request's life, from the moment it is handed to the driver. Drivers call the marks as
 * their stack reports progress; `finish()` yields the record (exactly once).
 */
export class RequestTimeline {
  readonly record: RequestRecord;
  private readonly chunks: Uint8Array[] | undefined;
  private finished = false;
  /** Body offset the attempt being sent again asks for (0: the whole body). */
  private resumeFrom = 0;
  /** Sent again and no response headers yet. */
  private resent = false;
  /** Sent again and not written to the new connection yet. */
  private resendUnwritten = false;
  /** Bytes at the start of this attempt's body that had arrived before (the server ignored the Range). */
  private skip = 0;
  /** This attempt's body is not the request's (a 416: the earlier attempt had the whole body). */
  private ignoreBody = false;

  constructor(protocol: Protocol, readonly spec: RequestSpec) {
    this.record = { id: newRequestId(protocol), path: spec.path, queued: monoMs(), done: 0, bytes: 0 };
    this.chunks = spec.keepBody ? [] : undefined;
    if (spec.recordProgress) this.record.progress = [];
  }

  get isFinished(): boolean {
    return this.finished;
  }

  /** The request timeout passed (RequestQueue withdraws and finishes it): the error to finish it with. */
  timedOut(timeoutMs: number): RequestTimeoutError {
    this.record.timedOut = true;
    return new RequestTimeoutError(timeoutMs);
  }

  /** Written to a connection: the first time counts; the connection and local address are the latest. */
  sent(connectionId?: string, localAddress?: string): void {
    this.record.sent ??= monoMs();
    if (this.resendUnwritten) {
      this.resendUnwritten = false;
      this.record.resent = monoMs();
    }
    if (connectionId) this.record.connectionId = connectionId;
    if (localAddress) this.record.localAddress = localAddress;
  }

  /**
   * The request goes out again on another connection (its own was lost or left behind by a move):
   * counted as a retry when it had been sent, and a GET that had part of its body asks for the rest.
   */
  retry(cause: unknown): void {
    if (this.record.sent !== undefined) {
      this.record.retries = (this.record.retries ?? 0) + 1;
      this.record.retriedBecause ??= errorText(cause);
    }
    const ownRange = Object.keys(this.spec.headers ?? {}).some((h) => h.toLowerCase() === 'range');
    this.resumeFrom = (this.spec.method ?? 'GET') === 'GET' && !ownRange ? this.record.bytes : 0;
    this.resent = true;
    this.resendUnwritten = true;
  }

  /** The headers of the next attempt: the request's own, and a Range for the rest of a partly received body. */
  attemptHeaders(): Record<string, string> | undefined {
    if (this.resumeFrom === 0) return this.spec.headers;
    return { ...this.spec.headers, range: `bytes=${this.resumeFrom}-` };
  }

  headers(status: number, headers?: Record<string, string>): void {
    if (this.resent && status >= 200) {
      this.resent = false;
      // 206 to our Range: the rest of the same response, whose status and headers stand. 416: there
      // was no rest (every byte had arrived, only the end of the response had not).
      if (this.resumeFrom > 0 && (status === 206 || status === 416)) {
        this.record.resumedFrom = this.resumeFrom;
        this.ignoreBody = status === 416;
        return;
      }
      // Answered whole: the bytes that had arrived come again.
      this.skip = this.resumeFrom;
    }
    // 1xx informational responses come first; the final status wins, the first time stays.
    this.record.headers ??= monoMs();
    this.record.status = status;
    if (headers && (this.spec.keepBody || status >= 200)) this.record.responseHeaders = headers;
  }

  data(chunk: Uint8Array): void {
    if (this.ignoreBody) return;
    if (this.skip > 0) {
      const again = Math.min(this.skip, chunk.byteLength);
      this.skip -= again;
      this.record.refetchedBytes = (this.record.refetchedBytes ?? 0) + again;
      chunk = chunk.subarray(again);
    }
    if (chunk.byteLength === 0) return;
    this.record.firstByte ??= monoMs();
    this.record.bytes += chunk.byteLength;
    this.record.progress?.push([monoMs(), this.record.bytes]);
    this.chunks?.push(chunk);
  }

  finish(error?: unknown): RequestRecord {
    if (this.finished) return this.record;
    this.finished = true;
    this.record.done = monoMs();
    if (error !== undefined) this.record.error = errorText(error);
    if (this.chunks) this.record.body = Buffer.concat(this.chunks);
    return this.record;
  }
}

/** Header names lower-cased, repeated values joined, pseudo-headers dropped. */
export function normaliseHeaders(raw: Record<string, string | string[] | number | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(raw)) {
    if (value === undefined || name.startsWith(':')) continue;
    out[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : String(value);
  }
  return out;
}

/** "CODE: message" when the error has a code (stable across stacks), else the message. */
export function errorText(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as NodeJS.ErrnoException).code;
    return code && !error.message.includes(code) ? `${code}: ${error.message}` : error.message;
  }
  return String(error);
}

/** Session tickets arrive after the handshake (TLS 1.3 NewSessionTicket): give them a moment. */
export async function waitForSessionTicket(session: ClientSession, timeoutMs = 500): Promise<Uint8Array | undefined> {
  const deadline = monoMs() + timeoutMs;
  while (monoMs() < deadline) {
    const ticket = session.session();
    if (ticket) return ticket;
    await new Promise((r) => setTimeout(r, 10));
  }
  return session.session();
}

/** How long a closing lean session lets requests in flight finish, and its sockets end cleanly. */
export const CLOSE_GRACE_MS = 1000;

/** The lean clients serve the load workload only: a session that is asked to move says so. */
export function cannotMove(protocolName: string): BenchError {
  return new BenchError('E_UNSUPPORTED', `the lean ${protocolName} client cannot move (it serves the load workload only); use client: library`);
}

/** A lean client's driver: it refuses, with the setting to use instead, what it does not do. */
export function leanDriver(protocol: Protocol, protocolName: string, open: (target: Target, opts: ConnectOptions) => Promise<ClientSession>): Driver {
  return {
    protocol,
    connect: (target, opts = {}) => {
      if (opts.reconnect || opts.earlyData) {
        return Promise.reject(new UserError('E_LEAN_CLIENT', `the lean ${protocolName} client does not reconnect, move or send early data; use \`client: library\``));
      }
      return open(target, opts);
    },
  };
}
