import { defineConfig } from 'vitest/config';

/**
 * `npm run test:kernel`: the kernel-test machine (harness.test.ts) and, inside it, the kernel
 * backend's suite (kernel-suite.test.ts boots Debian's kernel under qemu and runs test/kernel/).
 * Kept out of `npm test`: software emulation is slow, and the two must not share the CPU with other tests.
 */
export default defineConfig({
  test: {
    include: ['test/kernel-vm/**/*.test.ts'],
    testTimeout: 60 * 60_000,
    hookTimeout: 60 * 60_000,
    fileParallelism: false,
  },
});
