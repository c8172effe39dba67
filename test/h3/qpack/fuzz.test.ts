import { describe, expect, it } from 'vitest';
import { fuzzQpack } from '../../fuzz/qpack.ts';
import { interopCorpusPresent } from './interop-corpus.ts';

describe('QPACK decoder fuzzing (short run; `npm run fuzz` runs a million)', () => {
  it('20k random and mutated inputs: only QpackError escapes, bounded time and memory', () => {
    const stats = fuzzQpack(20_000, 20240901);
    console.log(`qpack fuzz: ${stats.iterations} inputs in ${(stats.elapsedMs / 1000).toFixed(1)} s, ${JSON.stringify(stats.outcomes)}, slowest ${stats.slowestInputMs.toFixed(1)} ms`);
    expect(stats.iterations).toBe(20_000);
    // The run reached every outcome: decoded, blocked, and both decoder-side error codes.
    expect(stats.outcomes.decoded).toBeGreaterThan(1000);
    expect(stats.outcomes.blocked).toBeGreaterThan(0);
    expect(stats.outcomes.qpackErrors['0x200']).toBeGreaterThan(1000);
    expect(stats.outcomes.qpackErrors['0x201']).toBeGreaterThan(100);
    expect(stats.maxTableSize).toBeLessThanOrEqual(4096);
    if (interopCorpusPresent()) expect(stats.seeds).toBeGreaterThan(190);
  });
});
