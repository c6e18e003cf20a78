import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { OidcError } from '../errors/oidc.error.js';
import { RedisCommands, type RedisConnectionOptions } from './redis-commands.js';
import type { SessionLock } from './session-lock.js';

/** Options of {@link RedisSessionLock}. */
export interface RedisSessionLockOptions extends RedisConnectionOptions {
  /**
   * How long the lock outlives a holder that stopped answering (crashed), in ms. A live holder renews
   * its lease every third of it for as long as its work runs — a refresh slower than the lease (a long
   * `http.timeout`) never lets a second instance in with the same refresh token. @default 10000
   */
  leaseMs?: number;
  /** How long a waiter waits before giving up with `ERR_OIDC_SESSION_STORE_UNAVAILABLE`, in ms. @default 10000 */
  waitMs?: number;
  /** How often a waiter retries, in ms. @default 25 */
  pollMs?: number;
}

/** Deletes the lock only if this holder still owns it (its lease may have run out and been taken over). */
const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;

/** Extends the lease only if this holder still owns the lock. */
const RENEW = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end return 0`;

/**
 * A {@link SessionLock} in Redis, so one instance at a time refreshes a session's tokens: `SET <prefix>lock:<key>
 * <random token> NX PX <lease>` to take it, a compare-and-delete script to release it. Waiters poll. The
 * lease bounds how long a crashed holder blocks the others. `RedisSessionStore` brings one as its `lock`.
 *
 * @example
 * ```ts
 * const lock = new RedisSessionLock({ client: redis });
 * await lock.run(`refresh:${sessionKey}`, () => refreshTokens());
 * ```
 */
export class RedisSessionLock implements SessionLock {
  private readonly redis: RedisCommands;
  private readonly leaseMs: number;
  private readonly waitMs: number;
  private readonly pollMs: number;

  constructor(options: RedisSessionLockOptions) {
    this.redis = new RedisCommands(options, 'RedisSessionLock');
    this.leaseMs = positive(options.leaseMs ?? 10_000, 'leaseMs');
    this.waitMs = positive(options.waitMs ?? 10_000, 'waitMs');
    this.pollMs = positive(options.pollMs ?? 25, 'pollMs');
  }

  async run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const lockKey = `${this.redis.prefix}lock:${key}`;
    const token = randomBytes(16).toString('base64url');
    const giveUpAt = Date.now() + this.waitMs;
    while ((await this.redis.call('SET', lockKey, token, 'NX', 'PX', Math.ceil(this.leaseMs))) !== 'OK') {
      if (Date.now() >= giveUpAt) {
        throw new OidcError(
          'ERR_OIDC_SESSION_STORE_UNAVAILABLE',
          `Gave up after ${this.waitMs} ms waiting for the lock "${key}"; try again shortly.`,
        );
      }
      await sleep(this.pollMs);
    }
    const lease = Math.ceil(this.leaseMs);
    // Renewal failures are not the caller's failure: at worst the lease runs out as for a crashed holder.
    const renewal = setInterval(
      () => void this.redis.eval(RENEW, lockKey, token, lease).catch(() => undefined),
      Math.max(1, Math.floor(lease / 3)),
    );
    renewal.unref();
    try {
      return await fn();
    } finally {
      clearInterval(renewal);
      // A failed release is not the caller's failure: the lease frees the lock anyway.
      await this.redis.eval(RELEASE, lockKey, token).catch(() => undefined);
    }
  }
}

function positive(value: number, name: string): number {
  if (!Number.isFinite(value) || value <= 0)
    throw new TypeError(`RedisSessionLock: \`${name}\` must be a positive number of milliseconds.`);
  return value;
}
