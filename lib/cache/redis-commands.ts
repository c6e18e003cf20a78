import { OidcError } from '../errors/oidc.error.js';

/**
 * An `ioredis` client: one server (`new Redis(url)`) or a cluster (`new Redis.Cluster(nodes)`). Declared
 * by the part this module uses, so the published types do not need `ioredis` (an optional peer) installed.
 */
export interface RedisClient {
  readonly status: string;
  call(command: string, ...args: (string | number)[]): Promise<unknown>;
}

/** Options shared by the Redis-backed store, replay cache and lock. */
export interface RedisConnectionOptions {
  /** An `ioredis` client (`new Redis(url)` or `new Redis.Cluster(nodes)`), owned and closed by the app. */
  client: RedisClient;
  /** Prepended to every key. Put a hash tag in it (`'{myapp}:'`) only to force every key into one cluster slot. @default 'oidc:' */
  prefix?: string;
  /**
   * Milliseconds a Redis command may take before the call fails (→ HTTP 503), so an unreachable or hung
   * Redis fails fast instead of waiting in `ioredis`'s offline queue. @default 1000
   */
  commandTimeout?: number;
}

/**
 * Connection states in which a command cannot be answered soon: fail at once instead of queueing.
 * (`wait` — lazyConnect — and `connecting`/`connect` go through; the timeout bounds them.)
 */
const DOWN = new Set(['reconnecting', 'disconnecting', 'close', 'end']);

const DEFAULT_PREFIX = 'oidc:';
const DEFAULT_COMMAND_TIMEOUT = 1_000;

/**
 * Runs commands on a user-supplied `ioredis` client so that an unreachable Redis fails fast with
 * `ERR_OIDC_SESSION_STORE_UNAVAILABLE` (HTTP 503) and recovers by itself when `ioredis` reconnects.
 * Internal to the Redis-backed store, replay cache and lock.
 */
export class RedisCommands {
  readonly prefix: string;
  private readonly client: RedisClient;
  private readonly timeout: number;

  constructor(options: RedisConnectionOptions, owner: string) {
    const client = options?.client as unknown as RedisClient | undefined;
    if (!client || typeof client.call !== 'function' || typeof client.status !== 'string') {
      throw new TypeError(`${owner}: \`client\` must be an ioredis client (new Redis(url) or new Redis.Cluster(nodes)).`);
    }
    const prefix = options.prefix ?? DEFAULT_PREFIX;
    if (typeof prefix !== 'string') throw new TypeError(`${owner}: \`prefix\` must be a string.`);
    const timeout = options.commandTimeout ?? DEFAULT_COMMAND_TIMEOUT;
    if (!Number.isFinite(timeout) || timeout <= 0)
      throw new TypeError(`${owner}: \`commandTimeout\` must be a positive number of milliseconds.`);
    this.client = client;
    this.prefix = prefix;
    this.timeout = timeout;
  }

  /** One Redis command, bounded by `commandTimeout`. */
  async call(command: string, ...args: (string | number)[]): Promise<unknown> {
    const status = this.client.status;
    if (DOWN.has(status)) throw unavailable(`the Redis connection is "${status}"`);
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(unavailable(`Redis did not answer ${command} within ${this.timeout} ms`)), this.timeout);
    });
    try {
      return await Promise.race([this.client.call(command, ...args), timedOut]);
    } catch (err) {
      throw err instanceof OidcError ? err : unavailable(`Redis ${command} failed`, err);
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * A Lua script touching exactly `key` (so it runs on one cluster node). EVAL rather than EVALSHA: the
   * scripts are small and only on the write path, and Redis caches them by digest either way.
   */
  eval(script: string, key: string, ...args: (string | number)[]): Promise<unknown> {
    return this.call('EVAL', script, 1, key, ...args);
  }
}

function unavailable(reason: string, cause?: unknown): OidcError {
  return new OidcError('ERR_OIDC_SESSION_STORE_UNAVAILABLE', `The Redis session store is unavailable: ${reason}.`, { cause });
}
