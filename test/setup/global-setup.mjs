import { DEFAULT_REDIS, hasRedisServerBinary, redisAnswers, startThrowawayRedis } from './redis-availability.mjs';

/** Jest globalSetup: a Redis for the run when none is configured or running (see redis-availability.ts). */
export default async function globalSetup() {
  if (process.env.REDIS_URL) return;
  if (await redisAnswers(DEFAULT_REDIS.host, DEFAULT_REDIS.port)) return;
  if (!hasRedisServerBinary()) return;
  const { url, child } = await startThrowawayRedis();
  // Test workers start after this and inherit the environment.
  process.env.REDIS_URL = url;
  globalThis.__oidcTestRedis = child;
}
