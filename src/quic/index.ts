/** Public surface of the QUIC layer (the HTTP/3 layer and drivers import from here). */
export type { QuicSenderStats } from './stats.ts';
export { QuicClient, type QuicClientOptions } from './client.ts';
export { QuicServer, type QuicServerOptions, type QuicServerCounters } from './server.ts';
export {
  QuicConnection,
  QuicStreamError,
  type QuicCloseInfo,
  type QuicConnectionEvents,
  type QuicPathEvent,
  type QuicTimings,
} from './connection.ts';
export { CONGESTION_CONTROLS, quicPacingFor, type QuicOptions, type QuicPacing } from './config.ts';
export type { QuicStats } from './stats.ts';
export { pacingSupported, type CongestionControl, type HostPort } from './binding.ts';
