import { randomBytes } from 'node:crypto';
import { jest } from '@jest/globals';
import { MemorySessionStore, packPayload, unpackPayload } from './memory-session.store.js';
import { SessionCrypto } from './session-crypto.js';
import type { OidcSessionData } from './session-store.interface.js';
import { describeSessionStoreContract } from './session-store.contract.js';

describeSessionStoreContract('MemorySessionStore', async () => ({ store: new MemorySessionStore() }));

const ISS = 'https://op.example.com';

function data(sub: string, sid?: string): OidcSessionData {
  return { iss: ISS, sub, ...(sid ? { sid } : {}), expiresAt: Math.floor(Date.now() / 1000) + 60, payload: `p-${sub}` };
}

describe('MemorySessionStore — bounded (least recently used dropped first)', () => {
  it('refuses a maxEntries that is not a positive integer', () => {
    expect(() => new MemorySessionStore({ maxEntries: 0 })).toThrow(TypeError);
    expect(() => new MemorySessionStore({ maxEntries: 1.5 })).toThrow(TypeError);
  });

  it('never holds more than maxEntries sessions and drops the oldest', async () => {
    const store = new MemorySessionStore({ maxEntries: 2 });
    await store.set('a', data('alice', 'sa'), 60);
    await store.set('b', data('bob', 'sb'), 60);
    await store.set('c', data('carol', 'sc'), 60);
    expect(store.size).toBe(2);
    await expect(store.get('a')).resolves.toBeUndefined();
    await expect(store.get('b')).resolves.toBeDefined();
    await expect(store.get('c')).resolves.toBeDefined();
  });

  it('a get refreshes recency, so the least recently used is evicted instead', async () => {
    const store = new MemorySessionStore({ maxEntries: 2 });
    await store.set('a', data('alice', 'sa'), 60);
    await store.set('b', data('bob', 'sb'), 60);
    await store.get('a');
    await store.set('c', data('carol', 'sc'), 60);
    await expect(store.get('a')).resolves.toBeDefined();
    await expect(store.get('b')).resolves.toBeUndefined();
    await expect(store.get('c')).resolves.toBeDefined();
  });

  it('an overwrite refreshes recency too', async () => {
    const store = new MemorySessionStore({ maxEntries: 2 });
    await store.set('a', data('alice', 'sa'), 60);
    await store.set('b', data('bob', 'sb'), 60);
    await store.set('a', data('alice', 'sa2'), 60);
    await store.set('c', data('carol', 'sc'), 60);
    await expect(store.get('a')).resolves.toMatchObject({ sid: 'sa2' });
    await expect(store.get('b')).resolves.toBeUndefined();
  });

  it('an evicted session no longer counts for destroyBy', async () => {
    const store = new MemorySessionStore({ maxEntries: 1 });
    await store.set('a', data('alice', 'sa'), 60);
    await store.set('b', data('bob', 'sb'), 60);
    await expect(store.destroyBy({ iss: ISS, sid: 'sa' })).resolves.toBe(0);
    await expect(store.destroyBy({ iss: ISS, sub: 'alice' })).resolves.toBe(0);
    await expect(store.destroyBy({ iss: ISS, sub: 'bob' })).resolves.toBe(1);
    expect(store.size).toBe(0);
  });

  it('drops an expired session from its size when it is read', async () => {
    const t0 = Date.UTC(2030, 0, 1);
    const now = jest.spyOn(Date, 'now').mockReturnValue(t0);
    try {
      const store = new MemorySessionStore();
      await store.set('a', data('alice', 'sa'), 10);
      now.mockReturnValue(t0 + 9_999);
      await expect(store.get('a')).resolves.toBeDefined();
      now.mockReturnValue(t0 + 10_000);
      await expect(store.get('a')).resolves.toBeUndefined();
      expect(store.size).toBe(0);
    } finally {
      now.mockRestore();
    }
  });

  it('reads time from the injected clock', async () => {
    let now = 5_000_000;
    const store = new MemorySessionStore({ now: () => now });
    await store.set('a', data('alice'), 10);
    now += 9_999;
    expect(await store.get('a')).toBeDefined();
    now += 1;
    expect(await store.get('a')).toBeUndefined();
    expect(store.size).toBe(0);
  });
});

describe('MemorySessionStore — payloads held as bytes', () => {
  const crypto = new SessionCrypto(['a-session-secret-of-at-least-32-characters']);

  it('packs a sealed payload to three quarters of its text and gives back exactly the same text', async () => {
    const idToken = randomBytes(700).toString('base64url');
    const sealed = await crypto.seal({ idToken }, 'key', { compress: true });
    const packed = packPayload(sealed)!;
    expect(packed).toBeDefined();
    expect(packed.length).toBeLessThan(sealed.length * 0.77);
    expect(unpackPayload(packed)).toBe(sealed);

    const store = new MemorySessionStore();
    await store.set('k', { ...data('alice', 'sa'), payload: sealed }, 60);
    const read = await store.get('k');
    expect(read?.payload).toBe(sealed);
    await expect(crypto.open(read!.payload, 'key')).resolves.toEqual({ idToken });
    await expect(store.replace('k', { ...data('alice', 'sa'), payload: 'next' }, 60, sealed)).resolves.toBe(true);
    await expect(store.get('k')).resolves.toMatchObject({ payload: 'next' });
  });

  it.each([
    ['text that is not base64url', 'p-alice+/='],
    ['a segment with stray bits in its last character (not canonical)', 'eyJhIjoxfQ.AB'],
    ['a segment of impossible length', 'abcde.fg'],
  ])('keeps %s as it is, and gives it back unchanged', async (_name, payload) => {
    expect(packPayload(payload)).toBeUndefined();
    const store = new MemorySessionStore();
    await store.set('k', { ...data('alice'), payload }, 60);
    await expect(store.get('k')).resolves.toMatchObject({ payload });
  });

  it('packs empty segments too (the compact JWE of `dir` has an empty encrypted key)', () => {
    for (const payload of ['', 'AA.', '.AA', 'eyJhIjoxfQ..AAEC.AAEC.AAEC']) expect(unpackPayload(packPayload(payload)!)).toBe(payload);
  });

  it('hands out a copy of the record: changing what get() returned changes nothing in the store', async () => {
    const store = new MemorySessionStore();
    await store.set('k', { ...data('alice', 'sa'), createdAt: 100 }, 60);
    const first = (await store.get('k'))!;
    first.sub = 'mallory';
    first.payload = 'forged';
    await expect(store.get('k')).resolves.toEqual({ ...data('alice', 'sa'), createdAt: 100, expiresAt: first.expiresAt });
    await expect(store.destroyBy({ iss: ISS, sub: 'mallory' })).resolves.toBe(0);
  });
});
