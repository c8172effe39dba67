/**
 * The kernel backend's suite (test/kernel/) inside Debian's kernel under qemu: this machine's own
 * kernel may lack sch_netem, Debian's has it. One boot runs the whole suite (vitest inside, CI=true
 * so that nothing is skipped); its output streams here, its run directories and the kernel link's
 * measured fidelity come back in a directory printed at the end (BENCH_KERNEL_OUT keeps it).
 */
import { mkdirSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { peerMissing } from '../support/peers.ts';
import { kernelSuiteCommand, missingRequirements, runInVm } from './vm.ts';

const missing = missingRequirements();
const skip = peerMissing(missing.length === 0, `the kernel-test machine (${missing.join('; ')})`);

/**
 * The suite under software emulation on a loaded 2-core machine, with room to spare; CI sets its
 * budget with BENCH_KERNEL_SUITE_MINUTES (5.5 min measured on a quiet 2-core machine), so a slow
 * or hung machine fails the job within it instead of overrunning CI's time.
 */
const SUITE_MS = Number(process.env.BENCH_KERNEL_SUITE_MINUTES ?? 40) * 60_000;

describe.skipIf(skip)("the kernel backend's suite, inside Debian's kernel under qemu", () => {
  it('passes', async () => {
    const out = process.env.BENCH_KERNEL_OUT ?? mkdtempSync(path.join(os.tmpdir(), 'bench-kernel-suite-'));
    mkdirSync(out, { recursive: true });
    const r = await runInVm({
      command: kernelSuiteCommand(),
      outDir: out,
      timeoutMs: SUITE_MS,
      env: {
        CI: 'true',
        FORCE_COLOR: '0',
        // The fidelity measurement the doctor test makes is cached here for the runs after it.
        BENCH_STATE_DIR: '/tmp/bench-state',
        // Emulation runs everything 20-60 times slower: the loop watchdog's 60 s would catch a
        // runner that is merely slow.
        BENCH_LOOP_STALL_MS: '600000',
      },
      onLine: (line) => process.stdout.write(`  vm | ${line}\n`),
    });
    const secs = (ms: number | undefined) => (ms === undefined ? '-' : `${(ms / 1000).toFixed(0)} s`);
    console.log(`kernel suite: boot ${secs(r.bootMs)}, whole run ${secs(r.totalMs)}; run directories and fidelity in ${out}`);
    expect(r.failure, `${r.failure}: ${r.detail ?? ''}\n${r.console.slice(-4000)}`).toBeUndefined();
    expect(r.exitCode, r.output.slice(-6000)).toBe(0);
  }, SUITE_MS + 60_000);
});
