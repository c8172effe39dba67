/**
 * HTTP/3 message rules for field sections (RFC 9114 section 4.2 and 4.3). A message that breaks
 * them is malformed: a stream error of type H3_MESSAGE_ERROR (section 4.1.2).
 */
import { H3_MESSAGE_ERROR, streamError } from './errors.ts';

export type HeaderList = Array<[name: string, value: string]>;

/** Fields that only mean something to one HTTP/1.1 connection (section 4.2). */
const CONNECTION_SPECIFIC = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade']);
/** RFC 9110 token characters, lowercase only (HTTP/3 forbids uppercase field names). */
const FIELD_NAME = /^[!#$%&'*+\-.^_`|~0-9a-z]+$/;
/** NUL, LF and CR are never allowed in an HTTP/3 field value (section 4.2). */
const BAD_VALUE = /[\0\r\n]/;
const REQUEST_PSEUDO = new Set([':method', ':scheme', ':authority', ':path']);

export interface RequestInfo {
  method: string;
  contentLength: number | undefined;
}

export interface ResponseInfo {
  status: number;
  contentLength: number | undefined;
}

const malformed = (message: string) => streamError(H3_MESSAGE_ERROR, `malformed message: ${message}`);

/**
 * Checks the regular fields (everything after the pseudo-fields): names, values,
 * connection-specific fields, content-length. Returns the content-length, if any.
 */
function checkRegularField(name: string, value: string, state: { contentLength: number | undefined }): void {
  if (!FIELD_NAME.test(name)) {
    throw malformed(/[A-Z]/.test(name) ? `uppercase field name "${name}"` : `invalid field name ${JSON.stringify(name)}`);
  }
  if (BAD_VALUE.test(value)) throw malformed(`field "${name}" has NUL, CR or LF in its value`);
  if (CONNECTION_SPECIFIC.has(name)) throw malformed(`connection-specific field "${name}"`);
  if (name === 'te' && value !== 'trailers') throw malformed('te other than "trailers"');
  if (name === 'content-length') {
    // A list "5, 5" is allowed by RFC 9110 section 8.6 when all members agree.
    for (const part of value.split(',')) {
      const v = part.trim();
      if (!/^\d{1,15}$/.test(v)) throw malformed(`content-length "${value}"`);
      const n = Number(v);
      if (state.contentLength !== undefined && state.contentLength !== n) throw malformed('conflicting content-length values');
      state.contentLength = n;
    }
  }
}

/** Splits pseudo-fields from regular ones, enforcing "pseudo-fields first, each at most once". */
function splitPseudo(headers: HeaderList, state: { contentLength: number | undefined }): Map<string, string> {
  const pseudo = new Map<string, string>();
  let regular = false;
  for (const [name, value] of headers) {
    if (name.startsWith(':')) {
      if (regular) throw malformed(`pseudo-field ${name} after a regular field`);
      if (pseudo.has(name)) throw malformed(`duplicate pseudo-field ${name}`);
      if (BAD_VALUE.test(value)) throw malformed(`pseudo-field ${name} has NUL, CR or LF in its value`);
      pseudo.set(name, value);
    } else {
      regular = true;
      checkRegularField(name, value, state);
    }
  }
  return pseudo;
}

/** Validates a request's header section (section 4.3.1). Throws H3Error(H3_MESSAGE_ERROR). */
export function checkRequestHeaders(headers: HeaderList): RequestInfo {
  const state = { contentLength: undefined as number | undefined };
  const pseudo = splitPseudo(headers, state);
  for (const name of pseudo.keys()) {
    // :protocol (RFC 9220) needs SETTINGS_ENABLE_CONNECT_PROTOCOL, which we do not send.
    if (!REQUEST_PSEUDO.has(name)) throw malformed(`pseudo-field ${name} in a request`);
  }
  const method = pseudo.get(':method');
  if (!method) throw malformed('request without :method');
  const authority = pseudo.get(':authority');
  if (method === 'CONNECT') {
    if (pseudo.has(':scheme') || pseudo.has(':path')) throw malformed('CONNECT with :scheme or :path');
    if (!authority) throw malformed('CONNECT without :authority');
    return { method, contentLength: state.contentLength };
  }
  const scheme = pseudo.get(':scheme');
  const path = pseudo.get(':path');
  if (!scheme) throw malformed('request without :scheme');
  if (!path) throw malformed('request without :path (or with an empty one)');
  if (scheme === 'http' || scheme === 'https') {
    // Section 4.3.1: :authority or Host, and the same value when both are present.
    const host = headers.find(([n]) => n === 'host')?.[1];
    if (!authority && !host) throw malformed(`${scheme} request without :authority or host`);
    if (authority && host !== undefined && host !== authority) throw malformed(':authority and host differ');
  }
  return { method, contentLength: state.contentLength };
}

/** Validates a response's header section (section 4.3.2). Throws H3Error(H3_MESSAGE_ERROR). */
export function checkResponseHeaders(headers: HeaderList): ResponseInfo {
  const state = { contentLength: undefined as number | undefined };
  const pseudo = splitPseudo(headers, state);
  for (const name of pseudo.keys()) if (name !== ':status') throw malformed(`pseudo-field ${name} in a response`);
  const status = pseudo.get(':status');
  if (status === undefined || !/^[1-5]\d\d$/.test(status)) throw malformed(`:status ${JSON.stringify(status ?? null)}`);
  // Section 4.5: HTTP/3 has no 101 (Switching Protocols).
  if (status === '101') throw malformed(':status 101');
  return { status: Number(status), contentLength: state.contentLength };
}

/** Validates a trailer section: no pseudo-fields (section 4.3). Throws H3Error(H3_MESSAGE_ERROR). */
export function checkTrailers(headers: HeaderList): void {
  const state = { contentLength: undefined as number | undefined };
  const pseudo = splitPseudo(headers, state);
  if (pseudo.size > 0) throw malformed('pseudo-field in trailers');
}

/** HTTP/3 field names are lowercase on the wire; callers may pass any case. */
export function lowercaseNames(headers: ReadonlyArray<readonly [string, string]>): HeaderList {
  const out: HeaderList = new Array(headers.length);
  for (let i = 0; i < headers.length; i++) {
    const [name, value] = headers[i]!;
    out[i] = [/[A-Z]/.test(name) ? name.toLowerCase() : name, value];
  }
  return out;
}

/** Field section size as SETTINGS_MAX_FIELD_SECTION_SIZE counts it (section 4.2.2): name + value + 32 per field. */
export function fieldSectionSize(headers: ReadonlyArray<readonly [string, string]>): number {
  let size = 0;
  for (const [name, value] of headers) size += Buffer.byteLength(name) + Buffer.byteLength(value) + 32;
  return size;
}
