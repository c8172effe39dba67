/**
 * The protocol-independent request handler shared by the H1, H2 and H3 listeners.
 * Each listener turns its protocol's request into a HandlerRequest and writes the HandlerResponse.
 */
export interface HandlerRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
}

export interface HandlerResponse {
  status: number;
  headers: Record<string, string>;
  /** Preallocated bytes; listeners write them without copying. */
  body: Uint8Array;
  /** Wait this long before sending headers (the /delay route). */
  delayMs?: number;
}
