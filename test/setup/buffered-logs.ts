/**
 * A green run reads green: what the module logs through Nest's static Logger during a test is kept in a
 * buffer and printed only when that test fails (then with the test's name), never on success. Apps a test
 * boots with their own logger (`logger: false`, a capturing logger) are not affected.
 */
import { Logger, type LoggerService } from '@nestjs/common';

const buffered: string[] = [];

function keep(level: string) {
  return (message: unknown, ...rest: unknown[]): void => {
    const text = [message, ...rest]
      .map((m) => (typeof m === 'string' ? m : m instanceof Error ? (m.stack ?? m.message) : JSON.stringify(m)))
      .join(' ');
    buffered.push(`${level.toUpperCase().padEnd(7)} ${text}`);
  };
}

const bufferLogger: LoggerService = {
  log: keep('log'),
  error: keep('error'),
  warn: keep('warn'),
  debug: keep('debug'),
  verbose: keep('verbose'),
  fatal: keep('fatal'),
};
Logger.overrideLogger(bufferLogger);

beforeEach(() => {
  buffered.length = 0;
});

afterEach(() => {
  // Set by the test environment (environment.mjs) when the test or one of its hooks failed.
  const failed = (globalThis as { __oidcTestFailed?: boolean }).__oidcTestFailed === true;
  if (failed && buffered.length > 0) {
    process.stderr.write(`\nModule log of the failed test "${expect.getState().currentTestName ?? ''}":\n${buffered.join('\n')}\n\n`);
  }
  buffered.length = 0;
});
