/**
 * Both control streams (RFC 9114 section 6.2.1): ours, which opens with our SETTINGS and later
 * carries GOAWAY, and the peer's, read as a frame sequence that must start with SETTINGS. The
 * connection-wide state they carry lives here: the peer's settings, the GOAWAY IDs both ways and
 * the peer's MAX_PUSH_ID.
 */
import { connectionError, H3_FRAME_UNEXPECTED, H3_ID_ERROR, H3_MISSING_SETTINGS } from './errors.ts';
import type { EventQueue, H3PeerSettings } from './events.ts';
import {
  encodeGoawayFrame,
  encodeSettingsFrame,
  FrameReader,
  SETTINGS_MAX_FIELD_SECTION_SIZE,
  SETTINGS_QPACK_BLOCKED_STREAMS,
  SETTINGS_QPACK_MAX_TABLE_CAPACITY,
  type FrameEvent,
  type FrameReaderLimits,
  type SettingsMap,
} from './frames.ts';
import { concatBytes, greaseFrame, greaseSetting } from './grease.ts';
import type { QpackStreamsOptions } from './qpack-streams.ts';
import { CriticalStream } from './stream-critical.ts';
import { STREAM_TYPE_CONTROL } from './stream-types.ts';
import type { QuicStreamIO } from './transport.ts';

export interface ControlStreamOptions extends QpackStreamsOptions {
  isServer: boolean;
  grease: boolean;
  limits: FrameReaderLimits;
}

/** What the connection does with the peer's control frames beyond recording them. */
export interface ControlStreamListener {
  /** The peer's SETTINGS arrived (before the 'settings' event). */
  onSettings(settings: H3PeerSettings): void;
  /** A GOAWAY arrived (after the 'goaway' event). */
  onGoaway(id: number): void;
}

export class ControlStream {
  private readonly isServer: boolean;
  private readonly out: CriticalStream;
  private readonly peerReader: FrameReader;
  private peerSettingsSeen = false;
  private peerSettingsValue: H3PeerSettings | undefined;
  private goawaySentId: number | undefined;
  private goawayReceivedId: number | undefined;
  private maxPushIdReceived: number | undefined;

  /**
   * Opens our control stream: type, SETTINGS (must be first, section 6.2.1), then with grease a
   * GREASE setting and frame.
   */
  constructor(
    io: QuicStreamIO,
    streamId: number,
    opts: ControlStreamOptions,
    private readonly events: EventQueue,
    private readonly listener: ControlStreamListener,
  ) {
    this.isServer = opts.isServer;
    const settings: Array<[number, number]> = [
      [SETTINGS_QPACK_MAX_TABLE_CAPACITY, opts.maxTableCapacity],
      [SETTINGS_QPACK_BLOCKED_STREAMS, opts.maxBlockedStreams],
    ];
    if (opts.maxFieldSectionSize !== undefined) settings.push([SETTINGS_MAX_FIELD_SECTION_SIZE, opts.maxFieldSectionSize]);
    if (opts.grease) settings.push(greaseSetting());
    const opening = [Uint8Array.of(STREAM_TYPE_CONTROL), encodeSettingsFrame(settings)];
    if (opts.grease) opening.push(greaseFrame());
    this.out = new CriticalStream(io, streamId, concatBytes(opening));
    this.peerReader = new FrameReader('control', opts.limits);
  }

  /** The peer's SETTINGS, once received. */
  get peerSettings(): H3PeerSettings | undefined {
    return this.peerSettingsValue;
  }

  /** The lowest GOAWAY ID we sent. */
  get goawaySent(): number | undefined {
    return this.goawaySentId;
  }

  /** Client: the GOAWAY stream ID received; server: the push ID. */
  get goawayReceived(): number | undefined {
    return this.goawayReceivedId;
  }

  /** Writes what flow control held back. */
  flush(): void {
    this.out.flush();
  }

  /** Section 5.2: a server's ID is a client bidirectional stream ID; a GOAWAY may only lower it. */
  sendGoaway(id: number): void {
    if (this.isServer && id % 4 !== 0) throw new RangeError(`GOAWAY ${id} is not a client bidirectional stream ID`);
    if (this.goawaySentId !== undefined && id > this.goawaySentId) {
      throw new RangeError(`GOAWAY ${id} is larger than the GOAWAY ${this.goawaySentId} already sent`);
    }
    this.goawaySentId = id;
    this.out.write(encodeGoawayFrame(id));
  }

  /** Bytes from the peer's control stream (the stream type already read). */
  onPeerData(data: Uint8Array): void {
    const reader = this.peerReader;
    reader.push(data.slice());
    for (let ev = reader.next(); ev; ev = reader.next()) this.onPeerEvent(ev);
  }

  private onPeerEvent(ev: FrameEvent): void {
    if (!this.peerSettingsSeen && !(ev.kind === 'frame' && ev.frame.type === 'settings')) {
      throw connectionError(H3_MISSING_SETTINGS, 'the control stream does not start with SETTINGS');
    }
    if (ev.kind !== 'frame') return; // reserved and unknown frames are ignored
    const frame = ev.frame;
    switch (frame.type) {
      case 'settings':
        if (this.peerSettingsSeen) throw connectionError(H3_FRAME_UNEXPECTED, 'second SETTINGS frame');
        this.peerSettingsSeen = true;
        this.applyPeerSettings(frame.settings);
        return;
      case 'goaway':
        this.onPeerGoaway(frame.id);
        return;
      case 'max_push_id':
        if (!this.isServer) throw connectionError(H3_FRAME_UNEXPECTED, 'MAX_PUSH_ID sent by a server');
        if (this.maxPushIdReceived !== undefined && frame.pushId < this.maxPushIdReceived) {
          throw connectionError(H3_ID_ERROR, `MAX_PUSH_ID went down from ${this.maxPushIdReceived} to ${frame.pushId}`);
        }
        this.maxPushIdReceived = frame.pushId;
        return;
      case 'cancel_push':
        // We never promise pushes (server) nor allow them (client): no push ID is valid (section 7.2.3).
        throw connectionError(H3_ID_ERROR, `CANCEL_PUSH for push ${frame.pushId}, which was never promised`);
      default:
        throw connectionError(H3_FRAME_UNEXPECTED, `${frame.type} on the control stream`);
    }
  }

  private applyPeerSettings(map: SettingsMap): void {
    const safe = (v: number | undefined) => (v === undefined ? undefined : Math.min(v, Number.MAX_SAFE_INTEGER));
    const settings: H3PeerSettings = {
      qpackMaxTableCapacity: safe(map.get(SETTINGS_QPACK_MAX_TABLE_CAPACITY)) ?? 0,
      qpackBlockedStreams: safe(map.get(SETTINGS_QPACK_BLOCKED_STREAMS)) ?? 0,
      maxFieldSectionSize: safe(map.get(SETTINGS_MAX_FIELD_SECTION_SIZE)),
      raw: map,
    };
    this.peerSettingsValue = settings;
    this.listener.onSettings(settings);
    this.events.push({ type: 'settings', settings });
  }

  private onPeerGoaway(id: number): void {
    if (!this.isServer && id % 4 !== 0) throw connectionError(H3_ID_ERROR, `GOAWAY ${id} is not a client bidirectional stream ID`);
    if (this.goawayReceivedId !== undefined && id > this.goawayReceivedId) {
      throw connectionError(H3_ID_ERROR, `GOAWAY went up from ${this.goawayReceivedId} to ${id}`);
    }
    this.goawayReceivedId = id;
    this.events.push({ type: 'goaway', id });
    this.listener.onGoaway(id);
  }
}
