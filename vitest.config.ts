import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Worker threads and child processes per test file: forks keep each file's process state separate.
    pool: 'forks',
    testTimeout: 20_000,
    hookTimeout: 20_000,
    // An unhandled rejection anywhere fails the run: Node-RED would exit on it.
    dangerouslyIgnoreUnhandledErrors: false,
    allowOnly: false,
    passWithNoTests: false,
  },
});
