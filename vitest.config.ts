import { defineConfig } from 'vitest/config';

// Worker threads load compiled code from dist/ (built by `pretest`), so tests and the CLI
// run the very same worker file. Files run one at a time: the machine has two cores and
// most tests start their own CPUs.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 60_000,
    reporters: ['default'],
  },
});
