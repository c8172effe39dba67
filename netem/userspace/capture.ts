/**
 * A capture of what the userspace link received and delivered, as pcapng (pcapng.ts): two
 * interfaces per path, "<path> received" (every packet read from the path's TUN devices, inbound,
 * the dropped ones with a comment "dropped by the link: <reason>") and "<path> delivered" (every
 * packet written, outbound, at the time it left). On the link's thread a packet costs one copy into
 * the current batch buffer (no allocation); full batches are written off the thread (libuv's pool),
 * so a capture does not make the link late.
 */
import { close, closeSync, constants, openSync, write, writeSync } from 'node:fs';
import { release } from 'node:os';
import type { CaptureRequest, CaptureSummary, DropEvent } from '../types.ts';
import { beginPacketBlock, DIRECTION_INBOUND, DIRECTION_OUTBOUND, finishPacketBlock, interfaceDescription, packetBlockMaxBytes, sectionHeader } from './pcapng.ts';

/** A batch this full is written at once. */
const FLUSH_BYTES = 64 * 1024;
/** Otherwise at most this long after the previous write. */
const FLUSH_INTERVAL_MS = 100;
/** Room for a full batch plus the largest packet. */
const BATCH_BYTES = FLUSH_BYTES + packetBlockMaxBytes(65_535, [64, 64]);

/** The text marking a dropped packet; what readers count (tshark -Y 'frame.comment contains "dropped by the link"'). */
export const DROP_COMMENT = 'dropped by the link';
/** A received packet can be dropped twice (its duplicate too): room for two comments. */
const DROP_COMMENT_ROOM = [64, 64];

export class LinkCapture {
  private readonly fd: number;
  private batch = Buffer.allocUnsafe(BATCH_BYTES);
  private used = 0;
  /** The last received packet's block, left open until its fate is known (drops come right after it). */
  private open: { start: number; optionsAt: number; comments: string[] | undefined } | undefined;
  private lastFlushMs: number;
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

  /** A packet read from path `path`, as read (the link rewrites packets in place afterwards). */
  received(path: number, packet: Uint8Array, nowMs: number): void {
    this.closeOpen();
    this.makeRoom(packetBlockMaxBytes(packet.length, DROP_COMMENT_ROOM));
    const start = this.used;
    this.open = { start, optionsAt: beginPacketBlock(this.batch, start, 2 * path, this.toEpochUs(nowMs), packet), comments: undefined };
    this.counts.received++;
  }

  /** The link dropped (a copy of) the packet it just received. */
  dropped(reason: DropEvent['reason']): void {
    if (!this.open) return;
    (this.open.comments ??= []).push(`${DROP_COMMENT}: ${reason}`);
    this.counts.dropped++;
  }

  /** A packet written to path `path`'s far end. */
  delivered(path: number, packet: Uint8Array, nowMs: number): void {
    this.closeOpen();
    this.makeRoom(packetBlockMaxBytes(packet.length));
    const start = this.used;
    const optionsAt = beginPacketBlock(this.batch, start, 2 * path + 1, this.toEpochUs(nowMs), packet);
    this.used = finishPacketBlock(this.batch, start, optionsAt, { direction: DIRECTION_OUTBOUND });
    this.counts.delivered++;
  }

  private closeOpen(): void {
    const open = this.open;
    if (!open) return;
    this.used = finishPacketBlock(this.batch, open.start, open.optionsAt, { direction: DIRECTION_INBOUND, comments: open.comments });
    this.open = undefined;
  }

  private makeRoom(bytes: number): void {
    if (this.used + bytes > this.batch.length) this.handOff();
  }

  /** Between the link's slices: writes the batch when it is full enough or old enough. */
  flushIfDue(nowMs: number): void {
    if (this.used === 0 && !this.open) return;
    if (this.used < FLUSH_BYTES && nowMs - this.lastFlushMs < FLUSH_INTERVAL_MS) return;
    this.closeOpen();
    this.handOff();
    this.lastFlushMs = nowMs;
  }

  /** The batch goes to the writer (in order, one write after another); a new one takes its place. */
  private handOff(): void {
    if (this.used === 0) return;
    const chunk = this.batch.subarray(0, this.used);
    this.batch = Buffer.allocUnsafe(BATCH_BYTES);
    this.used = 0;
    this.writing = this.writing.then(() => writeAll(this.fd, chunk)).catch((error: Error) => {
      this.failure ??= error;
    });
  }

  /** Writes what is pending, waits for every write, closes the file. */
  async stop(): Promise<Omit<CaptureSummary, 'startedAt' | 'stoppedAt'>> {
    if (this.closed) return this.summary;
    this.closed = true;
    this.closeOpen();
    this.handOff();
    await this.writing;
    await new Promise<void>((resolve) => close(this.fd, () => resolve()));
    if (this.failure) throw new Error(`capture ${this.start.file}: ${this.failure.message}`);
    return this.summary;
  }

  /** The link is going away (its parent died): write the batch now, so the file stays readable. */
  abandon(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      this.closeOpen();
      if (this.used > 0) writeSync(this.fd, this.batch.subarray(0, this.used));
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
