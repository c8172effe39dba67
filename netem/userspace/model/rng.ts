/**
 * Seeded pseudo-random numbers (xoshiro128**, seeded through splitmix32), so a link run with the
 * same seed makes the same decisions. Each random process of the link (loss, jitter, duplicate ...)
 * draws from its own stream, derived from the seed and a label: changing one parameter of a
 * scenario does not shift the random sequence of the others.
 */
export interface Rng {
  /** Uniform in [0, 1). */
  next(): number;
}

/** FNV-1a over the UTF-16 code units: a stable 32-bit hash of a label. */
export function hashLabel(label: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < label.length; i++) {
    h ^= label.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

function splitmix32(state: { s: number }): number {
  state.s = (state.s + 0x9e3779b9) | 0;
  let z = state.s;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

export class Xoshiro128 implements Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number) {
    const st = { s: seed | 0 };
    this.a = splitmix32(st);
    this.b = splitmix32(st);
    this.c = splitmix32(st);
    this.d = splitmix32(st);
    if ((this.a | this.b | this.c | this.d) === 0) this.a = 1;
  }

  /** Next 32-bit unsigned integer. */
  nextUint32(): number {
    const r = Math.imul(rotl(Math.imul(this.b, 5), 7), 9) >>> 0;
    const t = this.b << 9;
    this.c ^= this.a;
    this.d ^= this.b;
    this.b ^= this.c;
    this.a ^= this.d;
    this.c ^= t;
    this.d = rotl(this.d, 11);
    return r;
  }

  next(): number {
    return this.nextUint32() / 4294967296;
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/** An independent stream for `label` under `seed` (e.g. seed "run-42", label "primary/up/loss"). */
export function rngFor(seed: string | number, label: string): Xoshiro128 {
  return new Xoshiro128(hashLabel(`${seed}\u0000${label}`));
}
