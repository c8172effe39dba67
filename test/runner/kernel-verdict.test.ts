/**
 * Whether `backend: auto` may take the kernel link: only on the strength of its fidelity
 * measurement on this machine (the cache bench doctor --measure and shaped runs write).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { failedChecks, kernelVerdict, saveFidelity, FIDELITY_MAX_AGE_MS } from '../../src/runner/fidelity-cache.ts';
import type { FidelityReport } from '../../netem/types.ts';

function report(pass: Record<string, boolean>, measuredAt = new Date().toISOString()): FidelityReport {
  return {
    backend: 'kernel',
    measuredAt,
    target: { delayMs: 25, jitterMs: 10, loss: 0.01, rateBps: 20_000_000 },
    oneWayDelayMeanMs: 25.1,
    jitterStdMs: 10.2,
    loss: 0.01,
    lossInterval95: [0.009, 0.011],
    rateBps: 19_900_000,
    schedulerLatenessP99Ms: 0.2,
    pass,
  };
}

describe('kernelVerdict', () => {
  let dir: string;
  const saved = process.env.BENCH_STATE_DIR;
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'bench-verdict-'));
    process.env.BENCH_STATE_DIR = dir;
  });
  afterEach(() => {
    if (saved === undefined) delete process.env.BENCH_STATE_DIR;
    else process.env.BENCH_STATE_DIR = saved;
    rmSync(dir, { recursive: true, force: true });
  });

  const today = new Date().toISOString().slice(0, 10);
  const noLog = () => undefined;

  it('trusts the kernel link when every check of its measurement passed', async () => {
    saveFidelity(report({ delay: true, jitter: true, loss: true, rate: true, lateness: true }));
    expect(await kernelVerdict(noLog, { measure: false })).toEqual({ trusted: true, reason: `its fidelity measurement on this machine passed (${today})` });
  });

  it('does not when one failed, naming which', async () => {
    const r = report({ delay: true, jitter: false, loss: true, rate: true, lateness: false });
    expect(failedChecks(r)).toEqual(['jitter', 'lateness']);
    saveFidelity(r);
    expect(await kernelVerdict(noLog, { measure: false })).toEqual({
      trusted: false,
      reason: `the kernel link's fidelity measurement on this machine failed (jitter, lateness out of bounds, ${today}; bench doctor --measure repeats it)`,
    });
  });

  it('does not without a measurement, or with one older than the cache keeps', async () => {
    expect((await kernelVerdict(noLog, { measure: false })).trusted).toBe(false);
    expect((await kernelVerdict(noLog, { measure: false })).reason).toMatch(/has not been measured on this machine yet/);
    saveFidelity(report({ delay: true }, new Date(Date.now() - FIDELITY_MAX_AGE_MS - 1000).toISOString()));
    expect(await kernelVerdict(noLog, { measure: false })).toEqual({ trusted: false, reason: expect.stringMatching(/more than 7 days old/) });
  });

  it('a recent measurement is used as it is, without measuring again', async () => {
    saveFidelity(report({ delay: true, lateness: false }));
    const lines: string[] = [];
    expect((await kernelVerdict((l) => lines.push(l))).trusted).toBe(false);
    expect(lines).toEqual([]);
  });
});
