/**
 * The unidirectional streams the peer opens (RFC 9114 section 6.2). Each is identified by its
 * type prefix, then routed: the control stream to ControlStream, the QPACK encoder and decoder
 * streams to QpackStreams. There is one of each, and closing or resetting one is a connection
 * error. Push streams are refused (we never allow pushes); reserved and unknown types are
 * stopped and their later bytes discarded.
 */
import { connectionError, H3_CLOSED_CRITICAL_STREAM, H3_ID_ERROR, H3_STREAM_CREATION_ERROR } from './errors.ts';
import type { ControlStream } from './control-stream.ts';
import type { QpackStreams } from './qpack-streams.ts';
import type { RequestReceiver } from './request-receive.ts';
import {
  STREAM_TYPE_CONTROL,
  STREAM_TYPE_PUSH,
  STREAM_TYPE_QPACK_DECODER,
  STREAM_TYPE_QPACK_ENCODER,
  VarintCollector,
} from './stream-types.ts';
import { isStreamIOError, type QuicStreamIO } from './transport.ts';

type Role = 'control' | 'encoder' | 'decoder';

interface PeerUniStream {
  id: number;
  type: VarintCollector;
  role?: Role;
}

export class PeerUniStreams {
  private readonly streams = new Map<number, PeerUniStream>();
  /** Streams we stopped reading (unknown types). */
  private readonly ignored = new Set<number>();
  private readonly opened = new Set<Role>();

  /** `scratch` is the connection's read buffer (shared, never held across calls). */
  constructor(
    private readonly io: QuicStreamIO,
    private readonly isServer: boolean,
    private readonly scratch: Uint8Array,
    private readonly control: ControlStream,
    private readonly qpack: QpackStreams,
    private readonly requests: RequestReceiver,
  ) {}

  /** A stream we stopped reading: what still arrives on it is to be discarded. */
  isIgnored(id: number): boolean {
    return this.ignored.has(id);
  }

  /** Reads everything readable on the peer's unidirectional stream `id`. */
  onReadable(id: number): void {
    let u = this.streams.get(id);
    if (!u) {
      u = { id, type: new VarintCollector() };
      this.streams.set(id, u);
    }
    for (;;) {
      let r: { length: number; fin: boolean } | undefined;
      try {
        r = this.io.streamRecv(id, this.scratch);
      } catch (e) {
        if (!isStreamIOError(e)) throw e;
        if (u.role) throw connectionError(H3_CLOSED_CRITICAL_STREAM, `peer reset its ${u.role} stream`);
        this.streams.delete(id);
        return;
      }
      if (!r) return;
      let data = this.scratch.subarray(0, r.length);
      if (!u.role) {
        data = data.subarray(u.type.feed(data));
        if (u.type.value !== undefined && !this.assignRole(u)) return;
      }
      if (data.length > 0 && u.role) this.onData(u.role, data);
      if (r.fin) {
        if (u.role) throw connectionError(H3_CLOSED_CRITICAL_STREAM, `peer closed its ${u.role} stream`);
        this.streams.delete(id);
        return;
      }
      if (r.length === 0) return;
    }
  }

  /** Sets a stream's role from its type; false when the stream is to be ignored. */
  private assignRole(u: PeerUniStream): boolean {
    switch (u.type.value!) {
      case STREAM_TYPE_CONTROL:
        return this.setRole(u, 'control', 'control');
      case STREAM_TYPE_QPACK_ENCODER:
        return this.setRole(u, 'encoder', 'QPACK encoder');
      case STREAM_TYPE_QPACK_DECODER:
        return this.setRole(u, 'decoder', 'QPACK decoder');
      case STREAM_TYPE_PUSH:
        if (this.isServer) throw connectionError(H3_STREAM_CREATION_ERROR, 'a client opened a push stream');
        // We never send MAX_PUSH_ID: any push ID exceeds it (section 4.6).
        throw connectionError(H3_ID_ERROR, 'push stream without MAX_PUSH_ID');
      default:
        // Reserved (GREASE) or unknown type: stop reading it (section 6.2).
        this.streams.delete(u.id);
        this.ignored.add(u.id);
        this.io.streamShutdown(u.id, 'read', H3_STREAM_CREATION_ERROR);
        return false;
    }
  }

  /** Each critical stream type may be opened once (section 6.2.1, RFC 9204 section 4.2). */
  private setRole(u: PeerUniStream, role: Role, name: string): true {
    if (this.opened.has(role)) throw connectionError(H3_STREAM_CREATION_ERROR, `second ${name} stream from the peer`);
    this.opened.add(role);
    u.role = role;
    return true;
  }

  private onData(role: Role, data: Uint8Array): void {
    switch (role) {
      case 'control':
        this.control.onPeerData(data);
        return;
      case 'encoder':
        for (const streamId of this.qpack.onPeerEncoderData(data)) this.requests.resumeBlocked(streamId);
        return;
      case 'decoder':
        this.qpack.onPeerDecoderData(data);
        return;
    }
  }
}
