import type { OidcSessionData, OidcSessionFilter, OidcSessionStore } from './session-store.interface.js';

/** Options of {@link MemorySessionStore}. */
export interface MemorySessionStoreOptions {
  /** Most sessions kept; the least recently used is dropped beyond it. @default 10000 */
  maxEntries?: number;
  /** The clock, epoch milliseconds (the module passes its own). @default Date.now */
  now?: () => number;
}

interface Entry {
  data: OidcSessionData;
  /** epoch ms */
  expiresAt: number;
}

/**
 * The default session store: in-process, bounded (least recently used dropped first), expiring.
 * Right for one instance; use `RedisSessionStore` when several instances share sessions.
 *
 * @example
 * ```ts
 * session: { secret, store: new MemorySessionStore({ maxEntries: 50_000 }) }
 * ```
 */
export class MemorySessionStore implements OidcSessionStore {
  private readonly entries = new Map<string, Entry>();
  /**
   * `${iss}\n${sid|sub}` → ids, so destroyBy is O(matches), not a scan. One id is held as the string itself:
   * most subjects have one session, and a Set per entry would cost more than the id.
   */
  private readonly bySid = new Map<string, Ids>();
  private readonly bySub = new Map<string, Ids>();
  private readonly maxEntries: number;
  private readonly now: () => number;

  constructor(options: MemorySessionStoreOptions = {}) {
    const max = options.maxEntries ?? 10_000;
    if (!Number.isInteger(max) || max < 1) {
      throw new TypeError('MemorySessionStore: `maxEntries` must be a positive integer.');
    }
    this.maxEntries = max;
    this.now = options.now ?? Date.now;
  }

  /** Number of live entries (expired ones may linger until touched or evicted). */
  get size(): number {
    return this.entries.size;
  }

  async get(id: string): Promise<OidcSessionData | undefined> {
    const entry = this.entries.get(id);
    if (!entry) return undefined;
    if (entry.expiresAt <= this.now()) {
      this.remove(id, entry);
      return undefined;
    }
    // Refresh recency: Map iteration order is insertion order, so re-inserting makes it the newest.
    this.entries.delete(id);
    this.entries.set(id, entry);
    return entry.data;
  }

  async set(id: string, data: OidcSessionData, ttlSeconds: number): Promise<void> {
    const previous = this.entries.get(id);
    if (previous) this.remove(id, previous);
    this.entries.set(id, { data, expiresAt: this.now() + ttlSeconds * 1000 });
    index(this.bySub, `${data.iss}\n${data.sub}`, id);
    if (data.sid) index(this.bySid, `${data.iss}\n${data.sid}`, id);
    while (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next().value as string;
      this.remove(oldest, this.entries.get(oldest)!);
    }
  }

  async replace(id: string, data: OidcSessionData, ttlSeconds: number, expectedPayload: string): Promise<boolean> {
    const entry = this.entries.get(id);
    // Synchronous from the read to the write: nothing can end or change the session in between.
    if (!entry || entry.expiresAt <= this.now() || entry.data.payload !== expectedPayload) return false;
    await this.set(id, data, ttlSeconds);
    return true;
  }

  async destroy(id: string): Promise<void> {
    const entry = this.entries.get(id);
    if (entry) this.remove(id, entry);
  }

  async destroyBy(filter: OidcSessionFilter): Promise<number> {
    let ids: Ids | undefined;
    if (filter.sid !== undefined) ids = this.bySid.get(`${filter.iss}\n${filter.sid}`);
    else if (filter.sub !== undefined) ids = this.bySub.get(`${filter.iss}\n${filter.sub}`);
    else return 0;
    let count = 0;
    for (const id of ids === undefined ? [] : typeof ids === 'string' ? [ids] : [...ids]) {
      const entry = this.entries.get(id);
      if (!entry) continue;
      // Both given: Back-Channel Logout §2.7 — the session must match both.
      if (filter.sid !== undefined && filter.sub !== undefined && entry.data.sub !== filter.sub) continue;
      // §2.7: a session that began after the logout token was issued is not the one it names.
      if (filter.createdBefore !== undefined && entry.data.createdAt !== undefined && entry.data.createdAt > filter.createdBefore) continue;
      this.remove(id, entry);
      count++;
    }
    return count;
  }

  private remove(id: string, entry: Entry): void {
    this.entries.delete(id);
    unindex(this.bySub, `${entry.data.iss}\n${entry.data.sub}`, id);
    if (entry.data.sid) unindex(this.bySid, `${entry.data.iss}\n${entry.data.sid}`, id);
  }
}

/** The ids of one index key: one id as is, more in a Set. */
type Ids = string | Set<string>;

function index(map: Map<string, Ids>, key: string, id: string): void {
  const ids = map.get(key);
  if (ids === undefined || ids === id) map.set(key, id);
  else if (typeof ids === 'string') map.set(key, new Set([ids, id]));
  else ids.add(id);
}

function unindex(map: Map<string, Ids>, key: string, id: string): void {
  const ids = map.get(key);
  if (ids === id) map.delete(key);
  else if (typeof ids === 'object') {
    ids.delete(id);
    if (ids.size === 1) map.set(key, ids.values().next().value as string);
  }
}
