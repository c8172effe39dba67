/** Public surface of the HTTP/3 layer (drivers and servers import from here). */
export {
  H3Connection,
  H3StreamBlockedError,
  type H3ConnectionOptions,
  type H3Event,
  type H3PeerSettings,
} from './connection.ts';
export * from './errors.ts';
export type { HeaderList } from './headers.ts';
export {
  isStreamIOError,
  StreamIOFailure,
  type QuicStreamIO,
  type StreamIOError,
} from './transport.ts';
