import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: {
    // graphql 16 ships CommonJS (what Node loads for Pothos and Yoga) and ESM (what Vite would pick for
    // test files). Two copies break instanceof checks, so tests use the one Node uses.
    alias: [{ find: /^graphql$/, replacement: 'graphql/index.js' }],
  },
  test: {
    include: ['tests/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Integration files each make their own databases; two workers match the machines' two cores.
    maxWorkers: 2,
  },
});
