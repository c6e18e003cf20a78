import { existsSync } from 'node:fs';
import type { Config } from 'jest';
import { DEFAULT_REDIS, hasRedisServerBinary, REDIS_SUITES, redisAnswers } from './test/setup/redis-availability.mjs';

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
const base: Config = {
  rootDir: '.',
  testEnvironment: '<rootDir>/test/setup/environment.mjs',
  extensionsToTreatAsEsm: ['.ts'],
  moduleFileExtensions: ['ts', 'js', 'mjs', 'json'],
  transform: {
    '^.+\\.ts$': ['@swc/jest', swcOptions as Record<string, unknown>],
  },
  // The package's own name, as its users import it (the README's testing example runs as written).
  moduleNameMapper: {
    '^nestjs-oidc$': '<rootDir>/lib/index.ts',
    '^nestjs-oidc/testing$': '<rootDir>/lib/testing/index.ts',
    // see the file: an ESM-only dependency of Mercurius that Jest on Node 20 cannot require()
    '^content-disposition$': '<rootDir>/test/setup/content-disposition.cjs',
    '^(\\.{1,2}/.*)\\.js$': '$1',
  },
  testMatch: ['<rootDir>/lib/**/*.spec.ts', '<rootDir>/test/**/*.e2e-spec.ts'],
  testPathIgnorePatterns: ['/node_modules/', '/dist/'],
  setupFiles: ['<rootDir>/test/setup.ts'],
  setupFilesAfterEnv: ['<rootDir>/test/setup/buffered-logs.ts'],
  globalSetup: '<rootDir>/test/setup/global-setup.mjs',
  globalTeardown: '<rootDir>/test/setup/global-teardown.mjs',
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

/**
 * The Redis suites need a Redis server: REDIS_URL, one on 127.0.0.1:6379, or a `redis-server` binary for the
 * throwaway one globalSetup starts. With none of these they are left out — except under CI=true, where they
 * run (and fail) rather than be skipped.
 */
export default async function config(): Promise<Config> {
  const ci = process.env.CI === 'true';
  const ignored: string[] = [];
  // The real-browser suite needs Chromium (`.ci/run` installs Debian's package); left out elsewhere without it.
  if (!ci && !existsSync(process.env.CHROMIUM_PATH ?? '/usr/bin/chromium')) {
    if (!process.env.OIDC_TEST_NO_CHROMIUM_NOTED) {
      process.stderr.write(
        '\nNo Chromium (/usr/bin/chromium or CHROMIUM_PATH): test/browser.e2e-spec.ts is not run. `apt-get install chromium` to run it.\n',
      );
    }
    process.env.OIDC_TEST_NO_CHROMIUM_NOTED = '1';
    ignored.push('<rootDir>/test/browser.e2e-spec.ts');
  }
  const withIgnored = (config: Config): Config => ({
    ...config,
    testPathIgnorePatterns: [...(config.testPathIgnorePatterns ?? []), ...ignored],
  });
  const available = !!process.env.REDIS_URL || (await redisAnswers(DEFAULT_REDIS.host, DEFAULT_REDIS.port)) || hasRedisServerBinary();
  if (available || ci) return withIgnored(base);
  // Jest reads this config more than once per run: say it once.
  if (!process.env.OIDC_TEST_NO_REDIS_NOTED)
    process.stderr.write(
      `\nNo Redis: REDIS_URL is unset, nothing answers on ${DEFAULT_REDIS.host}:${DEFAULT_REDIS.port} and there is no redis-server binary.\n` +
        `Not run: ${REDIS_SUITES.join(', ')}.\nInstall Redis (e.g. \`apt-get install redis-server\`) or set REDIS_URL to run them.\n\n`,
    );
  process.env.OIDC_TEST_NO_REDIS_NOTED = '1';
  return withIgnored({
    ...base,
    testPathIgnorePatterns: [...(base.testPathIgnorePatterns ?? []), ...REDIS_SUITES.map((s) => `<rootDir>/${s}`)],
  });
}
