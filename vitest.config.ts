import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The kernel backend's suite needs a kernel with sch_netem and runs under qemu: npm run test:kernel.
    exclude: ['test/kernel/**', 'test/kernel-vm/**', '**/node_modules/**'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Network and process tests share namespaces and ports: run files one at a time.
    fileParallelism: false,
  },
});
