/**
 * Glue between node's request/response objects and the protocol-independent handler. H1
 * (node:https) and H2 (node:http2 compatibility API) share this function, so both protocols answer
 * every route with the same bytes, headers and timing.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2';
import type { HandlerContext, HandlerResponse, RequestHandler } from './handler-types.ts';

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
      response = { status: 500, headers: { 'content-type': 'text/plain' }, body: Buffer.from(`internal error: ${String(error)}\n`) };
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
  (res as ServerResponse).writeHead(response.status, headers);
  if (req.method === 'HEAD') res.end();
  else (res as ServerResponse).end(response.body);
}

function plainHeaders(headers: CompatRequest['headers']): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (name.startsWith(':') || value === undefined) continue;
    out[name] = Array.isArray(value) ? value.join(', ') : String(value);
  }
  return out;
}
