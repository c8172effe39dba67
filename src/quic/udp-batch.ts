/**
 * Datagrams out of a UDP socket, coalesced with UDP GSO: consecutive full-size datagrams to one
 * peer go to the kernel in one send, which segments them (UDP_SEGMENT). TCP gets the same from the
 * kernel for free (one write, GSO segments); without it every QUIC packet costs a system call and
 * a full trip down the stack, the largest CPU cost of our HTTP/3 server in a profile.
 *
 * A batch ends at a shorter datagram (it may be the last segment), another peer, the segment cap,
 * or flush(), which the connection calls whenever its send loop stops.
 */
import type dgram from 'node:dgram';
import { setUdpSegmentSize } from '../../netem/userspace/libc.ts';
import type { HostPort } from './binding.ts';

/** Linux's UDP_MAX_SEGMENTS is 64 (128 since 6.x); 44 full 1350-byte segments fit in 64 KB. */
const MAX_SEGMENTS = 64;
const MAX_SEND_BYTES = 65_000;
const SLAB_BYTES = 1 << 20;

export interface DatagramSink {
  /** Queues one datagram (it may leave at once); the caller never rewrites `data` afterwards. */
  write(data: Uint8Array, length: number, to: HostPort): number;
  /** Sends what is queued. */
  flush(): number;
}

/** What the sockets did: sends (system calls) and datagrams in them. */
export interface UdpSendCounters {
  sends: number;
  datagrams: number;
}

export const udpSendCounters: UdpSendCounters = { sends: 0, datagrams: 0 };

/** Turns GSO on for a bound socket; returns the sink that uses it, or one datagram per send. */
export function udpSink(socket: dgram.Socket, segmentSize: number, connected: boolean): DatagramSink {
  const fd = socketFd(socket);
  // BENCH_UDP_GSO=off: one send per datagram, for measuring what GSO saves.
  const gso = process.env.BENCH_UDP_GSO !== 'off' && typeof fd === 'number' && fd >= 0 && setUdpSegmentSize(fd, segmentSize);
  const send = (buf: Uint8Array, to: HostPort) => {
    udpSendCounters.sends++;
    if (connected) socket.send(buf);
    else socket.send(buf, to.port, to.host);
  };
  return gso ? new GsoBatch(send, segmentSize) : new OneBySend(send);
}

/**
 * A bound dgram socket's file descriptor. Node offers no public accessor and its `_handle` getter
 * is deprecated (a warning on every process), so the handle is read from the socket's internal
 * state object; undefined (then no GSO) should that ever change.
 */
function socketFd(socket: dgram.Socket): number | undefined {
  const owner = socket as unknown as Record<symbol, unknown>;
  for (const key of Object.getOwnPropertySymbols(socket)) {
    const state = owner[key] as { handle?: { fd?: unknown } } | undefined;
    if (state && typeof state === 'object' && typeof state.handle?.fd === 'number') return state.handle.fd;
  }
  return undefined;
}

class OneBySend implements DatagramSink {
  constructor(private readonly send: (buf: Uint8Array, to: HostPort) => void) {}
  write(data: Uint8Array, length: number, to: HostPort): number {
    udpSendCounters.datagrams++;
    this.send(data.subarray(0, length), to);
    return 1;
  }
  flush(): number {
    return 0;
  }
}

export class GsoBatch implements DatagramSink {
  private slab = Buffer.allocUnsafe(SLAB_BYTES);
  /** Start of the batch being built in the slab, and its end. */
  private start = 0;
  private end = 0;
  private segments = 0;
  private to: HostPort | undefined;

  constructor(
    private readonly send: (buf: Uint8Array, to: HostPort) => void,
    readonly segmentSize: number,
  ) {}

  write(data: Uint8Array, length: number, to: HostPort): number {
    let sends = 0;
    if (length > this.segmentSize) throw new RangeError(`datagram of ${length} bytes exceeds the GSO segment size ${this.segmentSize}`);
    udpSendCounters.datagrams++;
    if (this.segments > 0 && (to.port !== this.to!.port || to.host !== this.to!.host)) sends += this.flush();
    if (this.end + length > this.slab.length) {
      sends += this.flush();
      // Sends still queued keep the old slab alive; new batches go to a fresh one.
      this.slab = Buffer.allocUnsafe(SLAB_BYTES);
      this.start = this.end = 0;
    }
    this.slab.set(data.subarray(0, length), this.end);
    this.end += length;
    this.segments++;
    this.to = to;
    if (length < this.segmentSize || this.segments >= MAX_SEGMENTS || this.end - this.start + this.segmentSize > MAX_SEND_BYTES) sends += this.flush();
    return sends;
  }

  flush(): number {
    if (this.segments === 0) return 0;
    this.send(this.slab.subarray(this.start, this.end), this.to!);
    this.start = this.end;
    this.segments = 0;
    return 1;
  }
}
