import { describe, expect, it } from 'vitest';
import { fuzzFrames } from '../fuzz/frames.ts';

describe('frame fuzzing (short run; `npm run fuzz` runs a million)', () => {
  it('random and mutated frame sequences yield values or typed H3 errors only', () => {
    const stats = fuzzFrames(20_000, 0x5eed, { connectionShare: 0.1 });
    expect(stats.readerInputs + stats.connectionInputs).toBe(20_000);
    // Both targets ran, and both accepted and rejected inputs were exercised.
    expect(stats.connectionInputs).toBeGreaterThan(1000);
    expect(stats.readerAccepted).toBeGreaterThan(1000);
    expect(stats.connectionsOpen).toBeGreaterThan(100);
    expect(stats.connectionsClosed).toBeGreaterThan(100);
    for (const name of ['H3_FRAME_UNEXPECTED', 'H3_FRAME_ERROR', 'H3_SETTINGS_ERROR', 'H3_EXCESSIVE_LOAD', 'QPACK_DECOMPRESSION_FAILED']) {
      expect(stats.errors[name], name).toBeGreaterThan(0);
    }
    // Readers never held more than the chunks given to them at once (no unbounded buffering).
    expect(stats.maxReaderBuffered).toBeLessThanOrEqual(64);
  }, 60_000);
});
