/**
 * An HTTP/1.1 response parser (RFC 9112) for the lean load client: status line, header fields,
 * and a body framed by Content-Length, chunked transfer coding, or the end of the connection.
 * Incremental and pure: bytes in (any split), events out; malformed input throws H1ParseError.
 * One parser per connection, reset per request (pipelining 1).
 */

/** Malformed response: the connection cannot be used further. */
export class H1ParseError extends Error {
  constructor(message: string) {
    super(`HTTP/1.1 response: ${message}`);
    this.name = 'H1ParseError';
  }
}

export interface H1ResponseEvents {
  /** The final response's head (1xx heads are skipped). `fields` only with keepHeaders. */
  head(status: number, fields: Record<string, string> | undefined): void;
  /** Body bytes `bytes[start..end)`, valid only during the call. */
  data(bytes: Buffer, start: number, end: number): void;
  /** The response is complete; `keepAlive`: the connection may carry the next request. */
  complete(keepAlive: boolean): void;
}

/** Largest status line plus header section accepted (bytes). */
export const MAX_HEAD_BYTES = 64 * 1024;

const enum State {
  Idle,
  Head,
  BodyLength,
  ChunkSize,
  ChunkData,
  ChunkDataEnd,
  Trailers,
  BodyUntilClose,
  Done,
}

const CRLF = Buffer.from('\r\n', 'latin1');
const CRLFCRLF = Buffer.from('\r\n\r\n', 'latin1');

export class H1ResponseParser {
  private state = State.Idle;
  private rest: Buffer | undefined;
  private remaining = 0;
  private keepAlive = true;
  private headOnly = false;

  constructor(
    private readonly events: H1ResponseEvents,
    private readonly keepHeaders = false,
  ) {}

  /** Expect the response to a request just sent (`head`: a HEAD request, no body follows). */
  expect(head = false): void {
    this.state = State.Head;
    this.headOnly = head;
    this.keepAlive = true;
  }

  /** Whether a response is expected or under way. */
  get busy(): boolean {
    return this.state !== State.Idle && this.state !== State.Done;
  }

  push(chunk: Buffer): void {
    let bytes = chunk;
    if (this.rest) {
      bytes = Buffer.concat([this.rest, chunk]);
      this.rest = undefined;
    }
    let pos = 0;
    const end = bytes.length;
    while (pos < end) {
      switch (this.state) {
        case State.Idle:
        case State.Done:
          throw new H1ParseError(`${end - pos} bytes with no request outstanding`);
        case State.Head: {
          const at = bytes.indexOf(CRLFCRLF, pos);
          if (at < 0) {
            if (end - pos > MAX_HEAD_BYTES) throw new H1ParseError(`a head longer than ${MAX_HEAD_BYTES} bytes`);
            this.rest = bytes.subarray(pos);
            return;
          }
          this.head(bytes.toString('latin1', pos, at));
          pos = at + 4;
          break;
        }
        case State.BodyLength: {
          const n = Math.min(this.remaining, end - pos);
          this.events.data(bytes, pos, pos + n);
          pos += n;
          this.remaining -= n;
          if (this.remaining === 0) this.finish();
          break;
        }
        case State.BodyUntilClose:
          this.events.data(bytes, pos, end);
          pos = end;
          break;
        case State.ChunkSize: {
          const at = bytes.indexOf(CRLF, pos);
          if (at < 0) {
            if (end - pos > 1024) throw new H1ParseError('a chunk-size line longer than 1024 bytes');
            this.rest = bytes.subarray(pos);
            return;
          }
          const line = bytes.toString('latin1', pos, at);
          const semicolon = line.indexOf(';');
          const hexText = (semicolon >= 0 ? line.slice(0, semicolon) : line).trim();
          if (!/^[0-9a-fA-F]{1,12}$/.test(hexText)) throw new H1ParseError(`an invalid chunk size "${line.slice(0, 40)}"`);
          this.remaining = parseInt(hexText, 16);
          pos = at + 2;
          this.state = this.remaining === 0 ? State.Trailers : State.ChunkData;
          break;
        }
        case State.ChunkData: {
          const n = Math.min(this.remaining, end - pos);
          this.events.data(bytes, pos, pos + n);
          pos += n;
          this.remaining -= n;
          if (this.remaining === 0) this.state = State.ChunkDataEnd;
          break;
        }
        case State.ChunkDataEnd:
          if (end - pos < 2) {
            this.rest = bytes.subarray(pos);
            return;
          }
          if (bytes[pos] !== 13 || bytes[pos + 1] !== 10) throw new H1ParseError('a chunk not followed by CRLF');
          pos += 2;
          this.state = State.ChunkSize;
          break;
        case State.Trailers: {
          const at = bytes.indexOf(CRLF, pos);
          if (at < 0) {
            if (end - pos > MAX_HEAD_BYTES) throw new H1ParseError(`trailers longer than ${MAX_HEAD_BYTES} bytes`);
            this.rest = bytes.subarray(pos);
            return;
          }
          // An empty line ends the trailer section; trailer fields are skipped.
          if (at === pos) this.finish();
          pos = at + 2;
          break;
        }
      }
    }
  }

  /** The connection ended: a body delimited by the close is complete; anything else was cut short. */
  closed(): void {
    if (this.state === State.BodyUntilClose) {
      this.state = State.Done;
      this.events.complete(false);
      return;
    }
    if (this.busy) throw new H1ParseError('the connection closed before the response ended');
  }

  private finish(): void {
    this.state = State.Done;
    this.events.complete(this.keepAlive);
  }

  private head(text: string): void {
    // Status line: HTTP/1.1 SP 3DIGIT SP reason (Section 4).
    const lineEnd = text.indexOf('\r\n');
    const statusLine = lineEnd < 0 ? text : text.slice(0, lineEnd);
    if (!statusLine.startsWith('HTTP/1.') || statusLine.charCodeAt(8) !== 32) throw new H1ParseError(`an invalid status line "${statusLine.slice(0, 60)}"`);
    const status = Number(statusLine.slice(9, 12));
    if (!Number.isInteger(status) || status < 100 || status > 999 || (statusLine.length > 12 && statusLine.charCodeAt(12) !== 32)) {
      throw new H1ParseError(`an invalid status line "${statusLine.slice(0, 60)}"`);
    }
    const http10 = statusLine.charCodeAt(7) === 48; /* HTTP/1.0 */
    let contentLength = -1;
    let chunked = false;
    let close = http10;
    const fields: Record<string, string> | undefined = this.keepHeaders ? {} : undefined;
    let pos = lineEnd < 0 ? text.length : lineEnd + 2;
    while (pos < text.length) {
      let next = text.indexOf('\r\n', pos);
      if (next < 0) next = text.length;
      const colon = text.indexOf(':', pos);
      if (colon < 0 || colon > next || colon === pos) throw new H1ParseError(`an invalid header line "${text.slice(pos, Math.min(next, pos + 60))}"`);
      const nameLength = colon - pos;
      // Only these names matter to the framing; others are lower-cased only when kept.
      if (nameLength === 14 || nameLength === 17 || nameLength === 10 || fields) {
        const name = text.slice(pos, colon).toLowerCase();
        const value = text.slice(colon + 1, next).trim();
        if (name === 'content-length') {
          if (!/^\d{1,15}$/.test(value) || (contentLength >= 0 && Number(value) !== contentLength)) throw new H1ParseError(`an invalid content-length "${value.slice(0, 40)}"`);
          contentLength = Number(value);
        } else if (name === 'transfer-encoding') {
          // chunked must be the last coding (RFC 9112 Section 6.1).
          const codings = value.toLowerCase().split(',').map((c) => c.trim());
          if (codings[codings.length - 1] === 'chunked') chunked = true;
          else close = true;
        } else if (name === 'connection') {
          const tokens = value.toLowerCase().split(',').map((t) => t.trim());
          if (tokens.includes('close')) close = true;
          else if (http10 && tokens.includes('keep-alive')) close = false;
        }
        if (fields) fields[name] = fields[name] === undefined ? value : `${fields[name]}, ${value}`;
      }
      pos = next + 2;
    }
    if (status < 200) {
      // 1xx: another head follows (101 would switch protocols: not requested, so malformed here).
      if (status === 101) throw new H1ParseError('101 Switching Protocols to a request that asked for no upgrade');
      return;
    }
    this.keepAlive = !close;
    this.events.head(status, fields);
    if (this.headOnly || status === 204 || status === 304) return this.finish();
    // Transfer-Encoding overrides Content-Length (RFC 9112 Section 6.3); the connection must close after.
    if (chunked) {
      if (contentLength >= 0) this.keepAlive = false;
      this.state = State.ChunkSize;
      return;
    }
    if (close && contentLength < 0) {
      this.state = State.BodyUntilClose;
      return;
    }
    if (contentLength < 0) {
      // Neither length nor chunked: the body runs to the close (Section 6.3 item 8).
      this.keepAlive = false;
      this.state = State.BodyUntilClose;
      return;
    }
    this.remaining = contentLength;
    if (contentLength === 0) return this.finish();
    this.state = State.BodyLength;
  }
}
