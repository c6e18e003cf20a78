import type { OidcSessionData, OidcSessionFilter, OidcSessionStore } from './session-store.interface.js';

/** Options of {@link MemorySessionStore}. */
export interface MemorySessionStoreOptions {
  /** Most sessions kept; the least recently used is dropped beyond it. @default 10000 */
  maxEntries?: number;
  /** The clock, epoch milliseconds (the module passes its own). @default Date.now */
  now?: () => number;
}

/**
 * One session, flat (one object per session, not two): the record's fields, with its payload packed when it
 * is base64url ({@link packPayload}).
 */
interface Entry {
  iss: string;
  sub: string;
  sid: string | undefined;
  createdAt: number | undefined;
  /** the record's `expiresAt` (epoch seconds) */
  recordExpiresAt: number;
  /** the payload: packed to its bytes ({@link packPayload}), or the text as given */
  payload: Buffer | string;
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
   * iss → sid|sub → ids, so destroyBy is O(matches), not a scan. The keys are the entries' own strings (no key is
   * built per session), and one id is held as the string itself: most subjects have one session, and a Set per
   * entry would cost more than the id.
   */
  private readonly bySid = new Map<string, Map<string, Ids>>();
  private readonly bySub = new Map<string, Map<string, Ids>>();
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
    return recordOf(entry);
  }

  async set(id: string, data: OidcSessionData, ttlSeconds: number): Promise<void> {
    const previous = this.entries.get(id);
    if (previous) this.remove(id, previous);
    const packed = packPayload(data.payload);
    const entry: Entry = {
      iss: data.iss,
      sub: data.sub,
      sid: data.sid,
      createdAt: data.createdAt,
      recordExpiresAt: data.expiresAt,
      payload: packed ?? data.payload,
      expiresAt: this.now() + ttlSeconds * 1000,
    };
    this.entries.set(id, entry);
    index(this.bySub, entry.iss, entry.sub, id);
    if (entry.sid) index(this.bySid, entry.iss, entry.sid, id);
    while (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next().value as string;
      this.remove(oldest, this.entries.get(oldest)!);
    }
  }

  async replace(id: string, data: OidcSessionData, ttlSeconds: number, expectedPayload: string): Promise<boolean> {
    const entry = this.entries.get(id);
    // Synchronous from the read to the write: nothing can end or change the session in between.
    if (!entry || entry.expiresAt <= this.now() || payloadOf(entry) !== expectedPayload) return false;
    await this.set(id, data, ttlSeconds);
    return true;
  }

  async destroy(id: string): Promise<void> {
    const entry = this.entries.get(id);
    if (entry) this.remove(id, entry);
  }

  async destroyBy(filter: OidcSessionFilter): Promise<number> {
    let ids: Ids | undefined;
    if (filter.sid !== undefined) ids = this.bySid.get(filter.iss)?.get(filter.sid);
    else if (filter.sub !== undefined) ids = this.bySub.get(filter.iss)?.get(filter.sub);
    else return 0;
    let count = 0;
    for (const id of ids === undefined ? [] : typeof ids === 'string' ? [ids] : [...ids]) {
      const entry = this.entries.get(id);
      if (!entry) continue;
      // Both given: Back-Channel Logout §2.7 — the session must match both.
      if (filter.sid !== undefined && filter.sub !== undefined && entry.sub !== filter.sub) continue;
      // §2.7: a session that began after the logout token was issued is not the one it names.
      if (filter.createdBefore !== undefined && entry.createdAt !== undefined && entry.createdAt > filter.createdBefore) continue;
      this.remove(id, entry);
      count++;
    }
    return count;
  }

  private remove(id: string, entry: Entry): void {
    this.entries.delete(id);
    unindex(this.bySub, entry.iss, entry.sub, id);
    if (entry.sid) unindex(this.bySid, entry.iss, entry.sid, id);
  }
}

/** The record as given to {@link MemorySessionStore.set}: a new object each time, so no caller can change the store's copy. */
function recordOf(entry: Entry): OidcSessionData {
  return {
    iss: entry.iss,
    sub: entry.sub,
    ...(entry.sid === undefined ? {} : { sid: entry.sid }),
    ...(entry.createdAt === undefined ? {} : { createdAt: entry.createdAt }),
    expiresAt: entry.recordExpiresAt,
    payload: payloadOf(entry),
  };
}

function payloadOf(entry: Entry): string {
  return typeof entry.payload === 'string' ? entry.payload : unpackPayload(entry.payload);
}

/** Longest segment (bytes) a packed payload can hold: its length takes two bytes. */
const MAX_PACKED_SEGMENT = 0xffff;
const BASE64URL = /^[A-Za-z0-9_-]*$/;

/**
 * A sealed payload (a compact JWE: base64url segments joined by dots) as its bytes: a quarter smaller than the
 * base64url text, and outside the JS heap (a buffer of its own, not a slice of a shared pool), where the
 * garbage of the requests that create sessions cannot leave it on half-empty pages. Layout: per segment, its
 * byte length (two bytes, big-endian) then its bytes. Undefined — keep the text as is — for anything that
 * would not come back exactly (a non-canonical segment, a character outside base64url).
 *
 * @internal
 */
export function packPayload(payload: string): Buffer | undefined {
  const segments = payload.split('.');
  const parts: Buffer[] = [];
  let size = 0;
  for (const segment of segments) {
    if (!BASE64URL.test(segment) || segment.length % 4 === 1) return undefined;
    const bytes = Buffer.from(segment, 'base64url');
    // Canonical only: stray bits in the last character would not survive the round trip.
    if (bytes.length > MAX_PACKED_SEGMENT || bytes.toString('base64url') !== segment) return undefined;
    parts.push(bytes);
    size += 2 + bytes.length;
  }
  const packed = Buffer.allocUnsafeSlow(size);
  let at = 0;
  for (const bytes of parts) {
    at = packed.writeUInt16BE(bytes.length, at);
    at += bytes.copy(packed, at);
  }
  return packed;
}

/**
 * The payload {@link packPayload} packed, exactly.
 *
 * @internal
 */
export function unpackPayload(packed: Buffer): string {
  const segments: string[] = [];
  for (let at = 0; at < packed.length;) {
    const length = packed.readUInt16BE(at);
    segments.push(packed.toString('base64url', at + 2, at + 2 + length));
    at += 2 + length;
  }
  return segments.join('.');
}

/** The ids of one index key: one id as is, more in a Set. */
type Ids = string | Set<string>;

function index(byIssuer: Map<string, Map<string, Ids>>, iss: string, key: string, id: string): void {
  let map = byIssuer.get(iss);
  if (map === undefined) byIssuer.set(iss, (map = new Map()));
  const ids = map.get(key);
  if (ids === undefined || ids === id) map.set(key, id);
  else if (typeof ids === 'string') map.set(key, new Set([ids, id]));
  else ids.add(id);
}

function unindex(byIssuer: Map<string, Map<string, Ids>>, iss: string, key: string, id: string): void {
  const map = byIssuer.get(iss);
  if (map === undefined) return;
  const ids = map.get(key);
  if (ids === id) map.delete(key);
  else if (typeof ids === 'object') {
    ids.delete(id);
    if (ids.size === 1) map.set(key, ids.values().next().value as string);
  }
  if (map.size === 0) byIssuer.delete(iss);
}
