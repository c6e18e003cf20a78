import type { Config } from 'jest';

const swcOptions = {
  jsc: {
    parser: { syntax: 'typescript', decorators: true },
    transform: { legacyDecorator: true, decoratorMetadata: true, useDefineForClassFields: false },
    target: 'es2022',
  },
  module: { type: 'es6' },
  sourceMaps: 'inline',
};

/**
 * Native-ESM Jest: run with NODE_OPTIONS=--experimental-vm-modules (the `test:jest` script does).
 * Unit specs sit next to their files in lib/; end-to-end specs live in test/.
 */
const config: Config = {
  rootDir: '.',
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  moduleFileExtensions: ['ts', 'js', 'mjs', 'json'],
  transform: { '^.+\\.ts$': ['@swc/jest', swcOptions as Record<string, unknown>] },
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  testMatch: ['<rootDir>/lib/**/*.spec.ts', '<rootDir>/test/**/*.e2e-spec.ts'],
  testPathIgnorePatterns: ['/node_modules/', '/dist/'],
  setupFiles: ['<rootDir>/test/setup.ts'],
  testTimeout: 30_000,
  maxWorkers: 2,
  /**
   * Recycle a worker once its heap passes this after a test file. Under --experimental-vm-modules on Node 20
   * every test file's vm context (its whole module graph: Nest, Express, Fastify, oidc-provider…) stays
   * reachable after the file finishes, so a worker that ran ~20 e2e files holds ~500 MB of heap. Nothing keeps
   * the worker alive — it reaches 'exit' right away — but V8 then needs seconds to tear that heap down, past
   * jest-worker's 500 ms grace period, and Jest reports "A worker process has failed to exit gracefully".
   * Keeping the heap small keeps that teardown short (and the run's memory bounded).
   */
  workerIdleMemoryLimit: '200MB',
  forceExit: false,
};

export default config;
