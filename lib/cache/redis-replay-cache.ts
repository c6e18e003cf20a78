import { createHash } from 'node:crypto';
import { RedisCommands, type RedisConnectionOptions } from './redis-commands.js';
import type { ReplayCache } from './replay-cache.js';

/**
 * A {@link ReplayCache} in Redis, shared by every instance that uses the same client and prefix, so a
 * logout token or DPoP proof replayed to another instance is refused too. One key per identifier,
 * `<prefix>jti:<SHA-256 of the identifier>`, written with `SET … NX EX ttl` (atomic on one server and
 * in a cluster). `RedisSessionStore` brings one as its `replayCache`; construct it yourself only to
 * share replays without sharing sessions.
 *
 * @example
 * ```ts
 * const replays = new RedisReplayCache({ client: new Redis(process.env.REDIS_URL) });
 * await replays.recordOnce('logout:https://op.example.com:jti-1', 120); // true, then false
 * ```
 */
export class RedisReplayCache implements ReplayCache {
  private readonly redis: RedisCommands;

  constructor(options: RedisConnectionOptions) {
    this.redis = new RedisCommands(options, 'RedisReplayCache');
  }

  async recordOnce(key: string, ttlSeconds: number): Promise<boolean> {
    const ttl = Math.max(1, Math.ceil(ttlSeconds));
    return (await this.redis.call('SET', this.key(key), '1', 'EX', ttl, 'NX')) === 'OK';
  }

  async forget(key: string): Promise<void> {
    await this.redis.call('DEL', this.key(key));
  }

  private key(identifier: string): string {
    // Hashed: identifiers come from tokens, so the key length stays bounded whatever they hold.
    return `${this.redis.prefix}jti:${createHash('sha256').update(identifier).digest('base64url')}`;
  }
}
