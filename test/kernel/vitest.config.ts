import { BaseSequencer, type TestSpecification } from 'vitest/node';
import { defineConfig } from 'vitest/config';

/** Files in name order: the link first, then the doctor (it measures the kernel link once, cached for the runs), the runs, teardown. */
class NameOrder extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    return [...files].sort((a, b) => a.moduleId.localeCompare(b.moduleId));
  }
}

/**
 * The kernel backend's suite: needs root and a kernel with sch_netem. `npm run test:kernel` runs it
 * inside Debian's kernel under qemu (test/kernel-vm/); on a machine whose kernel has netem it also
 * runs directly: `npx vitest run --config test/kernel/vitest.config.ts`.
 */
export default defineConfig({
  test: {
    include: ['test/kernel/**/*.test.ts'],
    testTimeout: 20 * 60_000,
    hookTimeout: 20 * 60_000,
    fileParallelism: false,
    // One worker for all files: under software emulation a worker's start and imports take a minute.
    isolate: false,
    maxWorkers: 1,
    sequence: { sequencer: NameOrder },
  },
});
