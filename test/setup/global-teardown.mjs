/** Jest globalTeardown: stops the throwaway Redis that globalSetup started, if any. */
export default async function globalTeardown() {
  const child = globalThis.__oidcTestRedis;
  if (!child || child.exitCode !== null) return;
  await new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}
