import { QpackDecoder, QpackEncoder, type HeaderList } from '../../../src/h3/qpack/index.ts';

export interface PipeOptions {
  /** Capacity both sides allow (our encoder's limit and the decoder's SETTINGS). */
  capacity: number;
  blockedStreams: number;
  /**
   * 'immediate': encoder-stream bytes arrive before each section and acknowledgments return at once.
   * 'late': each section arrives before the encoder-stream bytes it may need, and the decoder
   * stream returns only every `ackEvery` sections, so blocking and unacknowledged entries happen.
   */
  delivery: 'immediate' | 'late';
  ackEvery?: number;
}

/**
 * An encoder and a decoder joined as two HTTP/3 endpoints would be, passing the encoder and
 * decoder streams between them. Returns every decoded header list in stream order.
 */
export function roundTrip(lists: HeaderList[], options: PipeOptions): { decoded: HeaderList[]; encodedBytes: number; encoderStreamBytes: number } {
  const encoder = new QpackEncoder({ maxTableCapacity: options.capacity });
  const decoder = new QpackDecoder({ maxTableCapacity: options.capacity, maxBlockedStreams: options.blockedStreams });
  encoder.applyPeerSettings({ maxTableCapacity: options.capacity, maxBlockedStreams: options.blockedStreams });
  const decoded = new Map<number, HeaderList>();
  let encodedBytes = 0;
  let encoderStreamBytes = 0;
  const ackEvery = options.ackEvery ?? 7;
  const deliverEncoderStream = () => {
    const bytes = encoder.takeEncoderStreamData();
    encoderStreamBytes += bytes.length;
    for (const streamId of decoder.onEncoderStreamData(bytes)) {
      const result = decoder.retryBlocked(streamId);
      if (result.status !== 'done') throw new Error(`stream ${streamId} still blocked after release`);
      decoded.set(streamId, result.headers);
    }
  };
  lists.forEach((headers, i) => {
    const streamId = 4 * i;
    const section = encoder.encodeFieldSection(streamId, headers);
    encodedBytes += section.length;
    if (options.delivery === 'immediate') deliverEncoderStream();
    const result = decoder.decodeFieldSection(streamId, section);
    if (result.status === 'done') decoded.set(streamId, result.headers);
    if (options.delivery === 'late') deliverEncoderStream();
    if (options.delivery === 'immediate' || i % ackEvery === ackEvery - 1) encoder.onDecoderStreamData(decoder.takeDecoderStreamData());
  });
  deliverEncoderStream();
  encoder.onDecoderStreamData(decoder.takeDecoderStreamData());
  if (decoder.blockedStreamCount !== 0) throw new Error('sections left blocked');
  return { decoded: lists.map((_, i) => decoded.get(4 * i)!), encodedBytes, encoderStreamBytes };
}
