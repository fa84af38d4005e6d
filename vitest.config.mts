import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // Worker threads and child processes per test file: forks keep each file's process state separate.
    pool: 'forks',
    globalSetup: ['test/print-platform.ts'],
    testTimeout: 20_000,
    hookTimeout: 20_000,
    // An unhandled rejection anywhere fails the run: Node-RED would exit on it.
    dangerouslyIgnoreUnhandledErrors: false,
    allowOnly: false,
    passWithNoTests: false,
    projects: [
      { extends: true, test: { name: 'core', include: ['test/**/*.test.ts'], exclude: ['test/docker/**', 'test/browser/**'] } },
      // The editor in a real Chromium against a real Node-RED process (`npx vitest run --project browser`). With
      // EDGEWHISK_REQUIRE_BROWSER=1 (CI) a missing Chromium fails these tests instead of skipping them.
      { extends: true, test: { name: 'browser', include: ['test/browser/**/*.test.ts'], testTimeout: 60_000, hookTimeout: 120_000 } },
      // Real containers on the real daemon (`npx vitest run --project docker`): slower starts, and a first run
      // may build EdgeWhisk's images. With EDGEWHISK_REQUIRE_DOCKER=1 (CI) a missing daemon fails these tests.
      { extends: true, test: { name: 'docker', include: ['test/docker/**/*.test.ts'], testTimeout: 60_000, hookTimeout: 600_000 } },
    ],
  },
});
