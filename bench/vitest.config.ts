import { defineConfig } from 'vitest/config';

// Benchmarks run under vitest only for its TypeScript loading; they measure and record, never assert speed.
export default defineConfig({
  test: {
    include: ['bench/**/*.bench.ts'],
    fileParallelism: false,
    testTimeout: 1_800_000,
    hookTimeout: 300_000,
  },
});
