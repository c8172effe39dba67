/**
 * `npm run fuzz [-- --iterations N] [--seed S] [--target name]`: runs the fuzz targets and prints
 * the iteration count and rate. Exits non-zero on the first input that breaks a target.
 */
import { Command, InvalidArgumentError } from 'commander';
import { fuzzFrames } from './frames.ts';
import { fuzzQpack } from './qpack.ts';

interface TargetResult {
  iterations: number;
  elapsedMs: number;
  details?: unknown;
}

/** Fuzz targets by name; each runs `iterations` inputs from `seed` and throws on a violation. */
const TARGETS: Record<string, (iterations: number, seed: number) => TargetResult> = {
  qpack: (iterations, seed) => {
    const stats = fuzzQpack(iterations, seed);
    return { iterations: stats.iterations, elapsedMs: stats.elapsedMs, details: { ...stats, iterations: undefined, elapsedMs: undefined } };
  },
  frames: (iterations, seed) => {
    const stats = fuzzFrames(iterations, seed);
    return { iterations: stats.iterations, elapsedMs: stats.elapsedMs, details: { ...stats, iterations: undefined, elapsedMs: undefined } };
  },
};

const positiveInteger = (value: string): number => {
  const parsed = Number(value);
  if (!Number.isSafeInteger(parsed) || parsed < 0) throw new InvalidArgumentError('expected a non-negative integer');
  return parsed;
};

const program = new Command()
  .name('fuzz')
  .option('--iterations <n>', 'inputs per target', positiveInteger, 1_000_000)
  .option('--seed <n>', 'PRNG seed (default: time-based, printed)', positiveInteger)
  .option('--target <name...>', `targets to run (${Object.keys(TARGETS).join(', ')}; default all)`)
  .parse();

const options = program.opts<{ iterations: number; seed?: number; target?: string[] }>();
const seed = options.seed ?? Date.now() % 2 ** 31;
const names = options.target ?? Object.keys(TARGETS);
for (const name of names) {
  if (!TARGETS[name]) program.error(`unknown fuzz target "${name}" (known: ${Object.keys(TARGETS).join(', ')})`);
}

let failed = false;
for (const name of names) {
  console.log(`fuzz ${name}: ${options.iterations} iterations, seed ${seed}`);
  try {
    const result = TARGETS[name]!(options.iterations, seed);
    const rate = result.iterations / (result.elapsedMs / 1000);
    console.log(`fuzz ${name}: ${result.iterations} iterations in ${(result.elapsedMs / 1000).toFixed(1)} s (${Math.round(rate)} iterations/s), no violation`);
    if (result.details) console.log(`fuzz ${name}: ${JSON.stringify(result.details)}`);
  } catch (error) {
    failed = true;
    console.error(`fuzz ${name}: FAILED (reproduce with --target ${name} --seed ${seed})\n${(error as Error).stack ?? String(error)}`);
  }
}
process.exitCode = failed ? 1 : 0;
