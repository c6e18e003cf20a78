/**
 * Where the test run's Redis comes from, decided once before any test file runs:
 * 1. `REDIS_URL` is set → that server (it must answer).
 * 2. Something answers on 127.0.0.1:6379 → that server.
 * 3. A `redis-server` binary exists → a throwaway server on a free port, started for this run and stopped
 *    after it (`REDIS_URL` points the test workers at it).
 * 4. None of these: under `CI=true` the Redis suites run and fail (they must never be skipped in CI);
 *    elsewhere they are left out of the run, and the run says so and how to include them.
 */
import { execFileSync, spawn } from 'node:child_process';
import { connect, createServer } from 'node:net';

export const DEFAULT_REDIS = { host: '127.0.0.1', port: 6379 };

/** The test files that need a Redis server (the Cluster suite starts its own `redis-server`s). */
export const REDIS_SUITES = ['test/scale-out.e2e-spec.ts', 'test/redis-cluster.e2e-spec.ts', 'lib/session/redis-session.store.spec.ts'];

/** Whether a Redis server answers PING at host:port within a second. */
export function redisAnswers(host, port) {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (ok) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.on('error', () => done(false));
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (data) => done(data.toString().startsWith('+PONG')));
  });
}

export function hasRedisServerBinary() {
  try {
    execFileSync('redis-server', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** Starts a throwaway redis-server on a free loopback port; resolves once it answers PING. */
export async function startThrowawayRedis() {
  const port = await freePort();
  const child = spawn('redis-server', ['--bind', '127.0.0.1', '--port', String(port), '--save', '', '--appendonly', 'no'], {
    stdio: 'ignore',
  });
  for (let attempt = 0; attempt < 100; attempt += 1) {
    if (await redisAnswers('127.0.0.1', port)) return { url: `redis://127.0.0.1:${port}`, child };
    if (child.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  child.kill('SIGKILL');
  throw new Error(`A throwaway redis-server on port ${port} did not start.`);
}
