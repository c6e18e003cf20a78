/**
 * Behaviour every {@link OidcSessionStore} must have, as a reusable Jest suite. Call it from a store's
 * spec file with a factory that yields a fresh, empty store:
 *
 * ```ts
 * describeSessionStoreContract('MemorySessionStore', async () => ({ store: new MemorySessionStore() }));
 * ```
 *
 * Test-only: it uses the test runner's globals (`describe`, `it`, `expect`, `beforeEach`, `afterEach` — Jest, or
 * Vitest with `globals: true`), so importing it loads no test framework. It uses real (short) waits for expiry so
 * stores backed by a server (Redis) can run it unchanged.
 */
import type { afterEach as AfterEach, beforeEach as BeforeEach, describe as Describe, expect as Expect, it as It } from '@jest/globals';
import type { OidcSessionData, OidcSessionStore } from './session-store.interface.js';

interface TestGlobals {
  describe: typeof Describe;
  it: typeof It;
  expect: typeof Expect;
  beforeEach: typeof BeforeEach;
  afterEach: typeof AfterEach;
}

/** The runner's globals, or a clear error where there are none. */
function testGlobals(): TestGlobals {
  const g = globalThis as unknown as Partial<TestGlobals>;
  if (typeof g.describe !== 'function' || typeof g.it !== 'function' || typeof g.expect !== 'function') {
    throw new Error('describeSessionStoreContract() runs in a test file of Jest (or Vitest with globals: true).');
  }
  return g as TestGlobals;
}

const ISS = 'https://op.example.com';
const OTHER_ISS = 'https://other-op.example.com';
const TTL = 60;

function data(overrides: Partial<OidcSessionData> = {}): OidcSessionData {
  return {
    iss: ISS,
    sub: 'alice',
    sid: 'sid-1',
    expiresAt: Math.floor(Date.now() / 1000) + TTL,
    payload: 'sealed-payload',
    ...overrides,
  };
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export function describeSessionStoreContract(
  name: string,
  makeStore: () => Promise<{ store: OidcSessionStore; cleanup?: () => Promise<void> }>,
): void {
  const { describe, it, expect, beforeEach, afterEach } = testGlobals();
  describe(`${name} — OidcSessionStore contract`, () => {
    let store: OidcSessionStore;
    let cleanup: (() => Promise<void>) | undefined;
    /** Unique per test so a shared backend (Redis) never sees another test's keys. */
    let prefix: string;
    let counter = 0;
    const key = (k: string) => `${prefix}:id:${k}`;
    const sid = (s: string) => `${prefix}:sid:${s}`;
    const sub = (s: string) => `${prefix}:sub:${s}`;

    beforeEach(async () => {
      ({ store, cleanup } = await makeStore());
      prefix = `t${Date.now().toString(36)}${(counter++).toString(36)}`;
    });

    afterEach(async () => {
      await cleanup?.();
    });

    it('get returns undefined for an unknown id', async () => {
      await expect(store.get(key('nope'))).resolves.toBeUndefined();
    });

    it('round-trips set → get with every field intact', async () => {
      const d = data({ sid: sid('s'), sub: sub('alice'), payload: 'p.a.y.l.o.a.d' });
      await store.set(key('a'), d, TTL);
      await expect(store.get(key('a'))).resolves.toEqual(d);
    });

    it('round-trips a session without sid', async () => {
      const d = data({ sub: sub('alice') });
      delete d.sid;
      await store.set(key('a'), d, TTL);
      const got = await store.get(key('a'));
      expect(got).toMatchObject({ iss: ISS, sub: sub('alice'), payload: d.payload, expiresAt: d.expiresAt });
      expect(got?.sid).toBeUndefined();
    });

    it('set on an existing id replaces the session', async () => {
      await store.set(key('a'), data({ sub: sub('alice'), payload: 'first' }), TTL);
      await store.set(key('a'), data({ sub: sub('alice'), payload: 'second' }), TTL);
      await expect(store.get(key('a'))).resolves.toMatchObject({ payload: 'second' });
    });

    describe('replace (compare-and-set), when the store has it', () => {
      it('writes when the stored payload is the expected one', async () => {
        if (!store.replace) return expect(store.replace).toBeUndefined();
        await store.set(key('a'), data({ sid: sid('a'), sub: sub('alice'), payload: 'first' }), TTL);
        await expect(store.replace(key('a'), data({ sid: sid('a'), sub: sub('alice'), payload: 'second' }), TTL, 'first')).resolves.toBe(
          true,
        );
        await expect(store.get(key('a'))).resolves.toMatchObject({ payload: 'second' });
        // Still found by its indexes after the write.
        await expect(store.destroyBy({ iss: ISS, sid: sid('a') })).resolves.toBe(1);
      });

      it('writes nothing when the payload changed meanwhile (no older payload over a newer one)', async () => {
        if (!store.replace) return expect(store.replace).toBeUndefined();
        await store.set(key('a'), data({ sub: sub('alice'), payload: 'refreshed' }), TTL);
        await expect(store.replace(key('a'), data({ sub: sub('alice'), payload: 'stale' }), TTL, 'original')).resolves.toBe(false);
        await expect(store.get(key('a'))).resolves.toMatchObject({ payload: 'refreshed' });
      });

      it('never resurrects a session ended meanwhile (destroy or destroyBy)', async () => {
        if (!store.replace) return expect(store.replace).toBeUndefined();
        await store.set(key('a'), data({ sid: sid('a'), sub: sub('alice'), payload: 'p' }), TTL);
        await store.set(key('b'), data({ sid: sid('b'), sub: sub('alice'), payload: 'p' }), TTL);
        await store.destroy(key('a'));
        await expect(store.destroyBy({ iss: ISS, sub: sub('alice') })).resolves.toBe(1);
        await expect(store.replace(key('a'), data({ sid: sid('a'), sub: sub('alice'), payload: 'q' }), TTL, 'p')).resolves.toBe(false);
        await expect(store.replace(key('b'), data({ sid: sid('b'), sub: sub('alice'), payload: 'q' }), TTL, 'p')).resolves.toBe(false);
        await expect(store.get(key('a'))).resolves.toBeUndefined();
        await expect(store.get(key('b'))).resolves.toBeUndefined();
      });
    });

    it('destroy removes the session and leaves others alone', async () => {
      await store.set(key('a'), data({ sid: sid('a'), sub: sub('alice') }), TTL);
      await store.set(key('b'), data({ sid: sid('b'), sub: sub('alice') }), TTL);
      await store.destroy(key('a'));
      await expect(store.get(key('a'))).resolves.toBeUndefined();
      await expect(store.get(key('b'))).resolves.toBeDefined();
    });

    it('destroy of an unknown id resolves', async () => {
      await expect(store.destroy(key('nope'))).resolves.toBeUndefined();
    });

    it('a session expires after its ttl', async () => {
      await store.set(key('a'), data({ sub: sub('alice') }), 1);
      await expect(store.get(key('a'))).resolves.toBeDefined();
      await sleep(1_100);
      await expect(store.get(key('a'))).resolves.toBeUndefined();
    });

    it('a new session can be stored under the id of an expired one', async () => {
      await store.set(key('a'), data({ sid: sid('a'), sub: sub('alice') }), 1);
      await sleep(1_100);
      await expect(store.get(key('a'))).resolves.toBeUndefined();
      await store.set(key('a'), data({ sid: sid('a2'), sub: sub('alice') }), TTL);
      await expect(store.get(key('a'))).resolves.toMatchObject({ sid: sid('a2') });
    });

    describe('destroyBy (Back-Channel Logout 1.0 §2.7)', () => {
      it('by sid ends only the session with that sid', async () => {
        await store.set(key('a'), data({ sid: sid('a'), sub: sub('alice') }), TTL);
        await store.set(key('b'), data({ sid: sid('b'), sub: sub('alice') }), TTL);
        await expect(store.destroyBy({ iss: ISS, sid: sid('a') })).resolves.toBe(1);
        await expect(store.get(key('a'))).resolves.toBeUndefined();
        await expect(store.get(key('b'))).resolves.toBeDefined();
      });

      it('by sid does not end a session with the same sid at another issuer', async () => {
        await store.set(key('a'), data({ iss: ISS, sid: sid('shared'), sub: sub('alice') }), TTL);
        await store.set(key('b'), data({ iss: OTHER_ISS, sid: sid('shared'), sub: sub('alice') }), TTL);
        await expect(store.destroyBy({ iss: ISS, sid: sid('shared') })).resolves.toBe(1);
        await expect(store.get(key('a'))).resolves.toBeUndefined();
        await expect(store.get(key('b'))).resolves.toBeDefined();
      });

      it('by sub ends every session of that sub at that issuer, and no other', async () => {
        await store.set(key('a1'), data({ sid: sid('a1'), sub: sub('alice') }), TTL);
        await store.set(key('a2'), data({ sid: sid('a2'), sub: sub('alice') }), TTL);
        const noSid = data({ sub: sub('alice') });
        delete noSid.sid;
        await store.set(key('a3'), noSid, TTL);
        await store.set(key('bob'), data({ sid: sid('b1'), sub: sub('bob') }), TTL);
        await store.set(key('other-iss'), data({ iss: OTHER_ISS, sid: sid('x1'), sub: sub('alice') }), TTL);

        await expect(store.destroyBy({ iss: ISS, sub: sub('alice') })).resolves.toBe(3);

        await expect(store.get(key('a1'))).resolves.toBeUndefined();
        await expect(store.get(key('a2'))).resolves.toBeUndefined();
        await expect(store.get(key('a3'))).resolves.toBeUndefined();
        await expect(store.get(key('bob'))).resolves.toBeDefined();
        await expect(store.get(key('other-iss'))).resolves.toBeDefined();
      });

      it('by sub with createdBefore keeps the sessions that began later, ends the older and those without createdAt', async () => {
        await store.set(key('old'), data({ sid: sid('old'), sub: sub('alice'), createdAt: 1_000 }), TTL);
        await store.set(key('at'), data({ sid: sid('at'), sub: sub('alice'), createdAt: 1_500 }), TTL);
        await store.set(key('new'), data({ sid: sid('new'), sub: sub('alice'), createdAt: 2_000 }), TTL);
        await store.set(key('legacy'), data({ sid: sid('legacy'), sub: sub('alice') }), TTL);
        // "at or before": a session that began in the very second the token was issued is ended.
        await expect(store.destroyBy({ iss: ISS, sub: sub('alice'), createdBefore: 1_500 })).resolves.toBe(3);
        await expect(store.get(key('old'))).resolves.toBeUndefined();
        await expect(store.get(key('at'))).resolves.toBeUndefined();
        await expect(store.get(key('legacy'))).resolves.toBeUndefined();
        await expect(store.get(key('new'))).resolves.toMatchObject({ createdAt: 2_000 });
        // Still found (and ended) by a later logout.
        await expect(store.destroyBy({ iss: ISS, sub: sub('alice'), createdBefore: 2_000 })).resolves.toBe(1);
        await expect(store.get(key('new'))).resolves.toBeUndefined();
      });

      it('with sid and sub requires both to match', async () => {
        await store.set(key('a'), data({ sid: sid('a'), sub: sub('alice') }), TTL);
        await expect(store.destroyBy({ iss: ISS, sid: sid('a'), sub: sub('mallory') })).resolves.toBe(0);
        await expect(store.get(key('a'))).resolves.toBeDefined();
        await expect(store.destroyBy({ iss: ISS, sid: sid('a'), sub: sub('alice') })).resolves.toBe(1);
        await expect(store.get(key('a'))).resolves.toBeUndefined();
      });

      it('resolves to 0 when nothing matches', async () => {
        await store.set(key('a'), data({ sid: sid('a'), sub: sub('alice') }), TTL);
        await expect(store.destroyBy({ iss: ISS, sid: sid('zzz') })).resolves.toBe(0);
        await expect(store.destroyBy({ iss: ISS, sub: sub('nobody') })).resolves.toBe(0);
        await expect(store.destroyBy({ iss: OTHER_ISS, sub: sub('alice') })).resolves.toBe(0);
        await expect(store.get(key('a'))).resolves.toBeDefined();
      });

      it('with neither sid nor sub ends nothing', async () => {
        await store.set(key('a'), data({ sid: sid('a'), sub: sub('alice') }), TTL);
        await expect(store.destroyBy({ iss: ISS })).resolves.toBe(0);
        await expect(store.get(key('a'))).resolves.toBeDefined();
      });

      it('does not count a session already removed with destroy', async () => {
        await store.set(key('a'), data({ sid: sid('a'), sub: sub('alice') }), TTL);
        await store.destroy(key('a'));
        await expect(store.destroyBy({ iss: ISS, sid: sid('a') })).resolves.toBe(0);
        await expect(store.destroyBy({ iss: ISS, sub: sub('alice') })).resolves.toBe(0);
      });

      it('reindexes a session overwritten with a different sid and sub', async () => {
        await store.set(key('a'), data({ sid: sid('old'), sub: sub('alice') }), TTL);
        await store.set(key('a'), data({ sid: sid('new'), sub: sub('alice2') }), TTL);

        await expect(store.destroyBy({ iss: ISS, sid: sid('old') })).resolves.toBe(0);
        await expect(store.destroyBy({ iss: ISS, sub: sub('alice') })).resolves.toBe(0);
        await expect(store.get(key('a'))).resolves.toMatchObject({ sid: sid('new') });

        await expect(store.destroyBy({ iss: ISS, sid: sid('new') })).resolves.toBe(1);
        await expect(store.get(key('a'))).resolves.toBeUndefined();
      });
    });
  });
}
