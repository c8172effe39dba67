/**
 * Glue between node's request/response objects and the protocol-independent handler. H1
 * (node:https) and H2 (node:http2 compatibility API) share this function, so both protocols answer
 * every route with the same bytes, headers and timing.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Http2ServerResponse, type Http2ServerRequest } from 'node:http2';
import type { Writable } from 'node:stream';
import { textBody } from './body.ts';
import type { HandlerContext, HandlerResponse, RequestHandler, ResponseBody } from './handler-types.ts';

type CompatRequest = IncomingMessage | Http2ServerRequest;
type CompatResponse = ServerResponse | Http2ServerResponse;

export function compatListener(handler: RequestHandler, context: HandlerContext) {
  return (req: CompatRequest, res: CompatResponse): void => {
    // Request bodies are not used by any route; drain them so flow control never stalls.
    req.resume();
    let response: HandlerResponse;
    try {
      response = handler({ method: req.method ?? 'GET', path: req.url ?? '/', headers: plainHeaders(req.headers) }, context);
    } catch (error) {
      response = { status: 500, headers: { 'content-type': 'text/plain' }, body: textBody(`internal error: ${String(error)}\n`) };
    }
    if (!response.delayMs) {
      writeResponse(req, res, response);
      return;
    }
    const timer = setTimeout(() => writeResponse(req, res, response), response.delayMs);
    res.once('close', () => clearTimeout(timer));
  };
}

function writeResponse(req: CompatRequest, res: CompatResponse, response: HandlerResponse): void {
  if (res.destroyed || res.writableEnded) return;
  const headers = { ...response.headers, 'content-length': String(response.body.byteLength) };
  const head = req.method === 'HEAD';
  if (res instanceof Http2ServerResponse) {
    // HTTP/2 answers on the stream itself. Through the compatibility object's end(), node sends
    // END_STREAM in an empty DATA frame only once the body's write has completed, i.e. behind
    // every byte the connection has queued by then: with 100 responses at once, all 100 ended
    // together at the end of the transfer (seen in a capture). The stream's own end(last piece)
    // puts END_STREAM on the last DATA frame, as other HTTP/2 servers do.
    if (res.stream.destroyed || res.stream.closed) return;
    res.stream.respond({ ':status': response.status, ...headers }, { endStream: head });
    if (!head) writeBody(res.stream, response.body);
    return;
  }
  res.writeHead(response.status, headers);
  if (head) res.end();
  else writeBody(res, response.body);
}

/**
 * Writes the body a piece at a time, the next only once the stream has taken the last ('drain'), so
 * a large body never sits whole in the socket's or the session's queue. A body of one piece is one
 * end(), as a buffer would be.
 */
function writeBody(res: Writable, body: ResponseBody): void {
  let offset = 0;
  // A response closed meanwhile never drains, and its closure goes with it.
  const writeMore = (): void => {
    for (;;) {
      const piece = body.pieceAt(offset);
      offset += piece.byteLength;
      if (offset >= body.byteLength) {
        res.end(piece);
        return;
      }
      if (!res.write(piece)) {
        res.once('drain', writeMore);
        return;
      }
    }
  };
  writeMore();
}

function plainHeaders(headers: CompatRequest['headers']): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (name.startsWith(':') || value === undefined) continue;
    out[name] = Array.isArray(value) ? value.join(', ') : String(value);
  }
  return out;
}
