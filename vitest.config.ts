import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    testTimeout: 30000,
    hookTimeout: 60000,
    projects: [
      // Node tests: unit tests beside the code, integration, end-to-end and browser tests in tests/.
      { extends: true, test: { name: 'node', include: ['**/*.test.ts'], exclude: ['**/node_modules/**', 'web/**'], globalSetup: ['tests/global-setup.ts'] } },
      // The web app's component tests: Svelte compiled for the browser, in jsdom.
      'web/vitest.config.ts',
    ],
  },
});
