import swc from 'unplugin-swc';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const root = fileURLToPath(new URL('.', import.meta.url));

export default defineConfig({
  // esbuild cannot emit decorator metadata, which Nest's dependency injection needs.
  plugins: [swc.vite({ module: { type: 'es6' } })],
  resolve: {
    alias: [
      { find: /^src\/(.*)$/, replacement: `${root}src/$1` },
      { find: /^test\/(.*)$/, replacement: `${root}test/$1` },
      { find: /^migrations$/, replacement: `${root}migrations/index.ts` },
      // The CommonJS build, as Node loads it for Nest and Apollo: Vite would otherwise pick
      // index.mjs for our files, and graphql-js refuses schemas and types from a second copy.
      { find: /^graphql$/, replacement: `${root}node_modules/graphql/index.js` },
    ],
  },
  test: {
    include: ['src/**/*.spec.ts', 'test/**/*.e2e-spec.ts'],
    environment: 'node',
    pool: 'forks',
    // Two cores: more workers only make the embedded databases fight for CPU.
    maxWorkers: 2,
    testTimeout: 30_000,
    hookTimeout: 90_000,
    reporters: ['default', './test/support/summary-reporter.ts'],
  },
});
