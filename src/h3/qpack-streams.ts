/**
 * The connection's QPACK state (RFC 9204) and our two QPACK streams. The encoder and decoder are
 * pure; whatever instructions a call makes them produce is written to our encoder or decoder
 * stream right after that call, so the peer's decoder learns of an insert no later than the
 * header section that uses it, and its encoder of acknowledgements and cancellations promptly.
 * The peer's QPACK streams arrive as plain bytes (peer-uni-streams.ts routes them here).
 */
import type { H3PeerSettings } from './events.ts';
import { QpackDecoder, QpackEncoder, type DecodeResult } from './qpack/index.ts';
import { CriticalStream } from './stream-critical.ts';
import { STREAM_TYPE_QPACK_DECODER, STREAM_TYPE_QPACK_ENCODER } from './stream-types.ts';
import type { QuicStreamIO } from './transport.ts';

export interface QpackStreamsOptions {
  /** Our SETTINGS_QPACK_MAX_TABLE_CAPACITY, also the encoder's own limit. */
  maxTableCapacity: number;
  /** Our SETTINGS_QPACK_BLOCKED_STREAMS. */
  maxBlockedStreams: number;
  maxFieldSectionSize: number | undefined;
}

export class QpackStreams {
  private readonly encoder: QpackEncoder;
  private readonly decoder: QpackDecoder;
  private readonly encoderStream: CriticalStream;
  private readonly decoderStream: CriticalStream;

  constructor(io: QuicStreamIO, opts: QpackStreamsOptions, encoderStreamId: number, decoderStreamId: number) {
    this.encoder = new QpackEncoder({ maxTableCapacity: opts.maxTableCapacity });
    this.decoder = new QpackDecoder({
      maxTableCapacity: opts.maxTableCapacity,
      maxBlockedStreams: opts.maxBlockedStreams,
      maxFieldSectionSize: opts.maxFieldSectionSize,
    });
    this.encoderStream = new CriticalStream(io, encoderStreamId, Uint8Array.of(STREAM_TYPE_QPACK_ENCODER));
    this.decoderStream = new CriticalStream(io, decoderStreamId, Uint8Array.of(STREAM_TYPE_QPACK_DECODER));
  }

  get stats(): { encoderInsertCount: number; encoderKnownReceived: number; decoderInsertCount: number; decoderBlockedStreams: number } {
    return {
      encoderInsertCount: this.encoder.insertCount,
      encoderKnownReceived: this.encoder.knownReceived,
      decoderInsertCount: this.decoder.insertCount,
      decoderBlockedStreams: this.decoder.blockedStreamCount,
    };
  }

  /** Writes what flow control held back on our QPACK streams. */
  flush(): void {
    this.encoderStream.flush();
    this.decoderStream.flush();
  }

  // ------------------------------------------------------------------ encoding (our header sections)

  /** The peer's table capacity and blocked-stream limit bound what the encoder may use. */
  applyPeerSettings(settings: H3PeerSettings): void {
    this.encoder.applyPeerSettings({
      maxTableCapacity: settings.qpackMaxTableCapacity,
      maxBlockedStreams: settings.qpackBlockedStreams,
    });
    this.flushEncoderStream();
  }

  encode(streamId: number, headers: ReadonlyArray<readonly [string, string]>): Uint8Array {
    const section = this.encoder.encodeFieldSection(streamId, headers);
    this.flushEncoderStream();
    return section;
  }

  /** Bytes from the peer's decoder stream (acknowledgements, cancellations). */
  onPeerDecoderData(data: Uint8Array): void {
    this.encoder.onDecoderStreamData(data);
  }

  // ------------------------------------------------------------------ decoding (the peer's header sections)

  /** Decodes a HEADERS frame's field section, or reports it blocked on inserts not received yet. */
  decode(streamId: number, fieldSection: Uint8Array): DecodeResult {
    const result = this.decoder.decodeFieldSection(streamId, fieldSection);
    this.flushDecoderStream();
    return result;
  }

  /** Decodes a blocked stream's section again after new inserts. */
  retryBlocked(streamId: number): DecodeResult {
    const result = this.decoder.retryBlocked(streamId);
    this.flushDecoderStream();
    return result;
  }

  /** Bytes from the peer's encoder stream; returns the streams whose sections may decode now. */
  onPeerEncoderData(data: Uint8Array): readonly number[] {
    const unblocked = this.decoder.onEncoderStreamData(data);
    this.flushDecoderStream();
    return unblocked;
  }

  /**
   * We stop reading a stream before its end: queues a Stream Cancellation (section 4.4.2),
   * written by the next flushDecoderStream().
   */
  cancelStream(streamId: number): void {
    this.decoder.cancelStream(streamId);
  }

  flushDecoderStream(): void {
    const bytes = this.decoder.takeDecoderStreamData();
    if (bytes.length > 0) this.decoderStream.write(bytes);
  }

  private flushEncoderStream(): void {
    const bytes = this.encoder.takeEncoderStreamData();
    if (bytes.length > 0) this.encoderStream.write(bytes);
  }
}
