/**
 * Runs synthetic traffic through a throwaway LinkEngine before the link forwards real packets.
 *
 * A fresh link process pays for its first second of traffic: its hot path (ingress, the direction
 * pipeline, the departure heap, release) still runs in V8's interpreter and gets compiled, and V8's
 * young generation and the allocator's arenas grow and fault in their pages as packets are
 * allocated. Measured on a 2-vCPU VM: the first second of a new link had about 1,500 page faults and
 * a p99 lateness of 15-17 ms, the following seconds 40-150 faults and under 0.2 ms. Running the same
 * code on synthetic packets first (with the link's own models, and once with jitter and loss off, as
 * phases switch them) moves that cost before the link starts.
 */
import type { DirectionModel, PathModel } from '../../model.ts';
import { LinkEngine, type EnginePathAddresses } from './engine.ts';

export interface WarmUpOptions {
  paths: PathModel[];
  addresses?: EnginePathAddresses[];
  /** Synthetic packets per model variant (default 5,000). */
  packets?: number;
  /**
   * Called for each released packet with what the link's write path needs (packet, due time), so
   * the caller's own per-packet code is compiled too.
   */
  onRelease?: (pathIndex: number, dir: 'up' | 'down', packet: Uint8Array, dueMs: number) => void;
  /** Copies a read packet as the link's read path does (default: a fresh Buffer per packet). */
  copy?: (scratch: Uint8Array, len: number) => Uint8Array;
}

export interface WarmUpResult {
  offered: number;
  released: number;
}

/** An IPv4/UDP packet of `len` bytes from `src` to 192.0.2.1 (TEST-NET-1), checksum left 0. */
export function syntheticUdpPacket(len: number, src: string, srcPort: number, dstPort: number): Uint8Array {
  const p = new Uint8Array(len);
  p[0] = 0x45;
  p[2] = len >> 8;
  p[3] = len & 0xff;
  p[8] = 64;
  p[9] = 17;
  src.split('.').forEach((o, i) => (p[12 + i] = Number(o)));
  p.set([192, 0, 2, 1], 16);
  p[20] = srcPort >> 8;
  p[21] = srcPort & 0xff;
  p[22] = dstPort >> 8;
  p[23] = dstPort & 0xff;
  p[24] = (len - 20) >> 8;
  p[25] = (len - 20) & 0xff;
  return p;
}

const QUIET: Partial<DirectionModel> = { jitterMs: 0, loss: { model: 'none' } };

/**
 * Offers `packets` synthetic packets per variant (the paths' own models, then the same with jitter
 * and loss off) to a fresh engine on a synthetic clock, 10 us apart, alternating directions and
 * sizes, releasing as the clock goes; then releases the rest. Pure: no I/O, no real time.
 */
export function warmUpEngine(opts: WarmUpOptions): WarmUpResult {
  const n = opts.packets ?? 5_000;
  const copy = opts.copy ?? ((scratch: Uint8Array, len: number) => {
    const b = new Uint8Array(len);
    b.set(scratch.subarray(0, len));
    return b;
  });
  const emit = opts.onRelease ?? (() => undefined);
  const src = opts.addresses?.[0]?.clientAddress ?? '10.0.0.1';
  const templates = [syntheticUdpPacket(1200, src, 40000, 443), syntheticUdpPacket(92, src, 40001, 443)];
  let offered = 0;
  let released = 0;
  const variants: PathModel[][] = [opts.paths, opts.paths.map((p) => ({ ...p, up: { ...p.up, ...QUIET }, down: { ...p.down, ...QUIET } }))];
  for (const paths of variants) {
    // No rate traces here: a trace's file is the link's business; its bottleneck runs the same code.
    const plain = paths.map((p) => ({ ...p, up: { ...p.up, rateTrace: undefined }, down: { ...p.down, rateTrace: undefined } }));
    const engine = new LinkEngine({ seed: 'warm-up', paths: plain, addresses: opts.addresses, startMs: 0, maxDropEvents: 1000 });
    // Spaced so the slowest bottleneck keeps up: released packets, not drops, are the common case.
    const minRate = Math.min(...paths.flatMap((p) => [p.up.rateBps, p.down.rateBps]).filter((r): r is number => typeof r === 'number' && r > 0));
    const stepMs = Number.isFinite(minRate) ? Math.max(0.01, (1.1 * 1200 * 8 * 1000) / minRate / 2) : 0.01;
    let now = 0;
    for (let i = 0; i < n; i++) {
      now += stepMs;
      const t = templates[i & 1]!;
      const pathIndex = (i >> 1) % plain.length;
      engine.ingress(pathIndex, (i >> 2) & 1 ? 'down' : 'up', copy(t, t.length), now);
      offered++;
      released += engine.release(now, emit);
    }
    released += engine.release(Infinity, emit);
  }
  return { offered, released };
}
