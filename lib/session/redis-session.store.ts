import { RedisCommands, type RedisConnectionOptions } from '../cache/redis-commands.js';
import { RedisReplayCache } from '../cache/redis-replay-cache.js';
import type { ReplayCache } from '../cache/replay-cache.js';
import { RedisSessionLock } from '../cache/redis-session-lock.js';
import type { SessionLock } from '../cache/session-lock.js';
import type { OidcSessionData, OidcSessionFilter, OidcSessionStore } from './session-store.interface.js';

/** Options of {@link RedisSessionStore}. */
export type RedisSessionStoreOptions = RedisConnectionOptions;

/**
 * How long (ms) an index entry outlives its session: covers the time between writing the index and the
 * session, and clock differences between cluster nodes. An entry living a little longer only costs a
 * lookup that finds nothing.
 */
const INDEX_MARGIN_MS = 60_000;

/** Redis server time in epoch ms (one clock for every writer, whatever the app servers' clocks say). */
const NOW_MS = `local t = redis.call('TIME') local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)`;

/**
 * KEYS[1] an index, ARGV id, ttl (s), margin (ms). Adds the id with its session's deadline (never
 * lowering one), drops the entries whose sessions have expired, and lets the key expire with its last entry.
 */
const INDEX_ADD = `${NOW_MS}
redis.call('ZADD', KEYS[1], 'GT', now + tonumber(ARGV[2]) * 1000 + tonumber(ARGV[3]), ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. now)
local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
redis.call('PEXPIREAT', KEYS[1], last[2])
return 1`;

/** KEYS[1] an index. Drops the entries whose sessions have expired; returns the others' ids. */
const INDEX_READ = `${NOW_MS}
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. now)
return redis.call('ZRANGE', KEYS[1], 0, -1)`;

/**
 * KEYS[1] a session, ARGV iss, field ('sid'|'sub'), value, '1' when sub must match too, sub, and createdBefore
 * ('' for none: a session created later is kept, Back-Channel Logout §2.7).
 * Deletes the session only if it (still) matches — the record is the truth, the index a list of
 * candidates — and returns what it held (to unindex it), else 0.
 */
const DESTROY_IF_MATCH = `local raw = redis.call('GET', KEYS[1])
if not raw then return 0 end
local ok, s = pcall(cjson.decode, raw)
if not ok or type(s) ~= 'table' or s.iss ~= ARGV[1] or s[ARGV[2]] ~= ARGV[3] then return 0 end
if ARGV[4] == '1' and s.sub ~= ARGV[5] then return 0 end
if ARGV[6] ~= '' and type(s.createdAt) == 'number' and s.createdAt > tonumber(ARGV[6]) then return 0 end
redis.call('DEL', KEYS[1])
return raw`;

/**
 * KEYS[1] a session, ARGV the new record (JSON), ttl (s), the expected payload. Compare-and-set: writes
 * only when the record exists and still holds the expected payload, so an update never resurrects a
 * session another instance ended, nor overwrites a newer payload. 1 when written, else 0.
 */
const REPLACE_IF_PAYLOAD = `local raw = redis.call('GET', KEYS[1])
if not raw then return 0 end
local ok, s = pcall(cjson.decode, raw)
if not ok or type(s) ~= 'table' or s.payload ~= ARGV[3] then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
return 1`;

/**
 * Sessions in Redis (`ioredis` client, one server or a cluster), shared by every app instance that uses
 * the same Redis and prefix: a session created on one instance is read on all, a back-channel logout
 * received by one ends the session on all. It also brings a shared {@link ReplayCache} (logout-token and
 * DPoP `jti`s refused on every instance) and a {@link SessionLock} (one instance at a time refreshes a
 * session's tokens), which the module picks up from the store.
 *
 * Needs Redis ≥ 6.2. Holds only what the module gives it: `iss`, `sub`, `sid` in plain (they are what
 * back-channel logout searches by) and the payload sealed by the module; keys are hashes of the cookie's id.
 *
 * Keys (each command and script touches exactly one key, so every operation works unchanged on a cluster —
 * no CROSSSLOT — and sessions spread over its slots):
 *
 * | key                              | type   | holds                                                        |
 * | -------------------------------- | ------ | ------------------------------------------------------------ |
 * | `<prefix>s:{<id>}`               | string | JSON `{ iss, sub, sid?, expiresAt, payload }`, `EX` = the ttl |
 * | `<prefix>sid:<iss>\n<sid>`       | zset   | ids of the sessions with that sid, scored by their deadline  |
 * | `<prefix>sub:<iss>\n<sub>`       | zset   | ids of the sessions of that subject, scored by their deadline |
 * | `<prefix>jti:<sha256>`           | string | a seen `jti` ({@link RedisReplayCache})                      |
 * | `<prefix>lock:<name>`            | string | a lock holder's random token ({@link RedisSessionLock})      |
 *
 * Consistency without multi-key transactions (which a cluster only allows within one slot, and a
 * session's `sid`, `sub` and id would each hash elsewhere): the session record is the truth, an index is a
 * list of candidates.
 * - `set` writes the index entries first (each index's expiry pushed to at least the session's), then the
 *   session; so every live session is always in its indexes, whatever fails in between.
 * - `destroyBy` reads one index (O(matches)) and deletes each candidate with a script that first checks
 *   the record still matches `iss`/`sid`/`sub` — a stale entry can never end the wrong session.
 * - Index entries are scored with their session's deadline (Redis server time): entries of expired sessions
 *   are dropped whenever the index is touched, and an index key expires with its last entry. `destroy`
 *   and `destroyBy` remove the entries of what they delete; an overwrite moves them.
 *
 * Failure: when Redis is unreachable (connection down, or no answer within `commandTimeout`), every call
 * fails at once with `ERR_OIDC_SESSION_STORE_UNAVAILABLE`, which the module answers with 503 — never as
 * "logged out". The store recovers by itself when `ioredis` reconnects. The client is the app's to close.
 *
 * @example
 * ```ts
 * import { Redis } from 'ioredis';
 *
 * OidcModule.forRoot({
 *   ...,
 *   session: { secret, store: new RedisSessionStore({ client: new Redis(process.env.REDIS_URL!), prefix: 'myapp:oidc:' }) },
 * });
 * ```
 */
export class RedisSessionStore implements OidcSessionStore {
  readonly replayCache: ReplayCache;
  readonly lock: SessionLock;
  private readonly redis: RedisCommands;

  constructor(options: RedisSessionStoreOptions) {
    this.redis = new RedisCommands(options, 'RedisSessionStore');
    this.replayCache = new RedisReplayCache(options);
    this.lock = new RedisSessionLock(options);
  }

  async get(id: string): Promise<OidcSessionData | undefined> {
    return parseRecord(await this.redis.call('GET', this.sessionKey(id)));
  }

  async set(id: string, data: OidcSessionData, ttlSeconds: number): Promise<void> {
    const ttl = Math.max(1, Math.ceil(ttlSeconds));
    const record = toRecord(data);
    const indexes = await this.index(id, record, ttl);
    const previous = parseRecord(await this.redis.call('SET', this.sessionKey(id), JSON.stringify(record), 'EX', ttl, 'GET'));
    if (previous) {
      const moved = this.indexKeys(previous).filter((index) => !indexes.includes(index));
      await Promise.all(moved.map((index) => this.redis.call('ZREM', index, id)));
    }
  }

  async replace(id: string, data: OidcSessionData, ttlSeconds: number, expectedPayload: string): Promise<boolean> {
    const ttl = Math.max(1, Math.ceil(ttlSeconds));
    const record = toRecord(data);
    await this.index(id, record, ttl);
    const written = await this.redis.eval(REPLACE_IF_PAYLOAD, this.sessionKey(id), JSON.stringify(record), ttl, expectedPayload);
    return written === 1;
  }

  async destroy(id: string): Promise<void> {
    const previous = parseRecord(await this.redis.call('GETDEL', this.sessionKey(id)));
    if (previous) await this.unindex(id, previous);
  }

  async destroyBy(filter: OidcSessionFilter): Promise<number> {
    const { iss, sid, sub, createdBefore } = filter;
    let field: 'sid' | 'sub';
    let value: string;
    if (sid !== undefined) [field, value] = ['sid', sid];
    else if (sub !== undefined) [field, value] = ['sub', sub];
    else return 0;
    const index = field === 'sid' ? this.sidKey(iss, value) : this.subKey(iss, value);
    const ids = (await this.redis.eval(INDEX_READ, index)) as string[];
    // Back-Channel Logout §2.7: with both sid and sub, the session must match both.
    const bothMustMatch = sid !== undefined && sub !== undefined ? '1' : '0';
    const ended = await Promise.all(
      ids.map(async (id) => {
        const record = parseRecord(
          await this.redis.eval(
            DESTROY_IF_MATCH,
            this.sessionKey(id),
            iss,
            field,
            value,
            bothMustMatch,
            sub ?? '',
            createdBefore === undefined ? '' : String(createdBefore),
          ),
        );
        if (record) await this.unindex(id, record);
        return record !== undefined;
      }),
    );
    return ended.filter(Boolean).length;
  }

  /**
   * Adds `id` to the indexes of `record` (deadlines never lowered) and resolves to those index keys. Always
   * before the session itself is written: a session that exists is always findable by destroyBy (§2.7 logout).
   */
  private async index(id: string, record: OidcSessionData, ttl: number): Promise<string[]> {
    const indexes = this.indexKeys(record);
    await Promise.all(indexes.map((index) => this.redis.eval(INDEX_ADD, index, id, ttl, INDEX_MARGIN_MS)));
    return indexes;
  }

  private unindex(id: string, record: OidcSessionData): Promise<unknown> {
    return Promise.all(this.indexKeys(record).map((index) => this.redis.call('ZREM', index, id)));
  }

  private sessionKey(id: string): string {
    // Hash tag: in a cluster the session's slot follows its id alone.
    return `${this.redis.prefix}s:{${id}}`;
  }

  private sidKey(iss: string, sid: string): string {
    return `${this.redis.prefix}sid:${iss}\n${sid}`;
  }

  private subKey(iss: string, sub: string): string {
    return `${this.redis.prefix}sub:${iss}\n${sub}`;
  }

  private indexKeys(record: OidcSessionData): string[] {
    const keys = [this.subKey(record.iss, record.sub)];
    if (record.sid !== undefined) keys.push(this.sidKey(record.iss, record.sid));
    return keys;
  }
}

/** Exactly the fields a record holds (a store keeps nothing else it may be handed). */
function toRecord(data: OidcSessionData): OidcSessionData {
  const record: OidcSessionData = { iss: data.iss, sub: data.sub, expiresAt: data.expiresAt, payload: data.payload };
  if (data.sid !== undefined) record.sid = data.sid;
  if (data.createdAt !== undefined) record.createdAt = data.createdAt;
  return record;
}

/** A stored record, or undefined for none (or one this store did not write). */
function parseRecord(raw: unknown): OidcSessionData | undefined {
  if (typeof raw !== 'string') return undefined;
  let value: Partial<Record<keyof OidcSessionData, unknown>>;
  try {
    value = JSON.parse(raw) as typeof value;
  } catch {
    return undefined;
  }
  const { iss, sub, sid, expiresAt, payload, createdAt } = value ?? {};
  if (typeof iss !== 'string' || typeof sub !== 'string' || typeof expiresAt !== 'number' || typeof payload !== 'string') return undefined;
  if (sid !== undefined && typeof sid !== 'string') return undefined;
  const data: OidcSessionData = { iss, sub, expiresAt, payload };
  if (sid !== undefined) data.sid = sid;
  if (typeof createdAt === 'number') data.createdAt = createdAt;
  return data;
}
