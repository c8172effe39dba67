/**
 * A capture of what the userspace link received and delivered, as pcapng (pcapng.ts): two
 * interfaces per path, "<path> received" (every packet read from the path's TUN devices, inbound,
 * the dropped ones with a comment "dropped by the link: <reason>") and "<path> delivered" (every
 * packet written, outbound, at the time it left). The link's thread only queues records; they are
 * encoded and written in batches, with the write itself off the thread (libuv's pool), so a capture
 * does not make the link late.
 */
import { close, closeSync, constants, openSync, write, writeSync } from 'node:fs';
import { release } from 'node:os';
import type { CaptureRequest, CaptureSummary, DropEvent } from '../types.ts';
import { DIRECTION_INBOUND, DIRECTION_OUTBOUND, interfaceDescription, packetBlocks, sectionHeader, type PacketRecord } from './pcapng.ts';

/** Pending records beyond this many bytes are written at once. */
const FLUSH_BYTES = 256 * 1024;
/** Otherwise at most this long after the previous write. */
const FLUSH_INTERVAL_MS = 100;

/** The text marking a dropped packet; what readers count (tshark -Y 'frame.comment contains "dropped by the link"'). */
export const DROP_COMMENT = 'dropped by the link';

export class LinkCapture {
  private readonly fd: number;
  private pending: PacketRecord[] = [];
  private pendingBytes = 0;
  private lastFlushMs: number;
  private lastReceived: PacketRecord | undefined;
  private writing: Promise<void> = Promise.resolve();
  private failure: Error | undefined;
  private readonly counts = { received: 0, delivered: 0, dropped: 0 };
  private closed = false;

  /**
   * @param paths the link's path names, in path index order
   * @param toEpochUs the link clock (ms) -> microseconds since the Unix epoch
   */
  constructor(
    private readonly start: CaptureRequest,
    paths: readonly string[],
    nowMs: number,
    private readonly toEpochUs: (ms: number) => number,
  ) {
    // O_APPEND: every batch lands after the previous one, whichever thread writes it.
    this.fd = openSync(start.file, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_APPEND, 0o644);
    const header = [
      sectionHeader({ application: start.application, os: `Linux ${release()}`, comment: start.comment }),
      ...paths.flatMap((name) => [
        interfaceDescription({ name: `${name} received`, description: `what the link read from path ${name}'s TUN devices (client to server and back), before loss, queueing and delay` }),
        interfaceDescription({ name: `${name} delivered`, description: `what the link wrote to path ${name}'s TUN devices, at the time each packet left` }),
      ]),
    ];
    writeSync(this.fd, Buffer.concat(header));
    this.lastFlushMs = nowMs;
  }

  get summary(): Omit<CaptureSummary, 'startedAt' | 'stoppedAt'> {
    return { file: this.start.file, ...this.counts };
  }

  /** A packet read from path `path` (copied: the link rewrites packets in place later). */
  received(path: number, packet: Uint8Array, nowMs: number): void {
    const record: PacketRecord = { interfaceId: 2 * path, timestampUs: this.toEpochUs(nowMs), data: Uint8Array.prototype.slice.call(packet), direction: DIRECTION_INBOUND };
    this.lastReceived = record;
    this.push(record);
    this.counts.received++;
  }

  /** The link dropped (a copy of) the packet it just received. */
  dropped(reason: DropEvent['reason']): void {
    const record = this.lastReceived;
    if (!record) return;
    record.comments = [...(record.comments ?? []), `${DROP_COMMENT}: ${reason}`];
    this.counts.dropped++;
  }

  /** A packet written to path `path`'s far end (not copied: the link is done with it). */
  delivered(path: number, packet: Uint8Array, nowMs: number): void {
    this.push({ interfaceId: 2 * path + 1, timestampUs: this.toEpochUs(nowMs), data: packet, direction: DIRECTION_OUTBOUND });
    this.counts.delivered++;
  }

  private push(record: PacketRecord): void {
    this.pending.push(record);
    this.pendingBytes += record.data.length;
  }

  /** Between the link's slices: hands a batch to the writer when enough is pending or enough time passed. */
  flushIfDue(nowMs: number): void {
    if (this.pending.length === 0) return;
    if (this.pendingBytes < FLUSH_BYTES && nowMs - this.lastFlushMs < FLUSH_INTERVAL_MS) return;
    this.flush(nowMs);
  }

  private flush(nowMs: number): void {
    const batch = packetBlocks(this.pending);
    this.pending = [];
    this.pendingBytes = 0;
    this.lastReceived = undefined;
    this.lastFlushMs = nowMs;
    this.writing = this.writing.then(() => writeAll(this.fd, batch)).catch((error: Error) => {
      this.failure ??= error;
    });
  }

  /** Writes what is pending, waits for every write, closes the file. */
  async stop(nowMs: number): Promise<Omit<CaptureSummary, 'startedAt' | 'stoppedAt'>> {
    if (this.closed) return this.summary;
    this.closed = true;
    if (this.pending.length > 0) this.flush(nowMs);
    await this.writing;
    await new Promise<void>((resolve) => close(this.fd, () => resolve()));
    if (this.failure) throw new Error(`capture ${this.start.file}: ${this.failure.message}`);
    return this.summary;
  }

  /** The link is going away (its parent died): write what is pending now, so the file stays readable. */
  abandon(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      if (this.pending.length > 0) writeSync(this.fd, packetBlocks(this.pending));
      closeSync(this.fd);
    } catch {
      // best effort on the way out
    }
  }
}

function writeAll(fd: number, buf: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    const next = (offset: number) =>
      write(fd, buf, offset, buf.length - offset, null, (error, written) => {
        if (error) reject(error);
        else if (offset + written < buf.length) next(offset + written);
        else resolve();
      });
    next(0);
  });
}
