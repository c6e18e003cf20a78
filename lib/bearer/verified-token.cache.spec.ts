import { createHash } from 'node:crypto';
import { hashToken, VerifiedTokenCache } from './verified-token.cache.js';

describe('VerifiedTokenCache', () => {
  let now = 1_000_000;
  const clock = () => now;

  it('serves an entry until its expiry, never after', () => {
    const cache = new VerifiedTokenCache<string>(10, clock);
    cache.set('token-a', 'claims-a', now + 1000);
    expect(cache.get('token-a')).toBe('claims-a');
    now += 1000;
    expect(cache.get('token-a')).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  it('ignores entries that are already expired, and caches nothing with maxEntries 0', () => {
    const cache = new VerifiedTokenCache<string>(10, clock);
    cache.set('old', 'x', now - 1);
    expect(cache.get('old')).toBeUndefined();
    const off = new VerifiedTokenCache<string>(0, clock);
    off.set('a', 'x', now + 1000);
    expect(off.get('a')).toBeUndefined();
    expect(off.size).toBe(0);
  });

  it('is bounded: the least recently used entry goes first', () => {
    const cache = new VerifiedTokenCache<string>(2, clock);
    cache.set('a', '1', now + 1000);
    cache.set('b', '2', now + 1000);
    expect(cache.get('a')).toBe('1'); // a is now the most recently used
    cache.set('c', '3', now + 1000);
    expect(cache.size).toBe(2);
    expect(cache.get('b')).toBeUndefined();
    expect(cache.get('a')).toBe('1');
    expect(cache.get('c')).toBe('3');
  });

  it('keys by a hash of the token, not the token itself', () => {
    const cache = new VerifiedTokenCache<string>(2, clock);
    cache.set('secret-token-value', 'v', now + 1000);
    const { young, old } = cache as unknown as { young: Map<string, unknown>; old: Map<string, unknown> };
    const keys = [...young.keys(), ...old.keys()];
    expect(keys).toHaveLength(1);
    expect(keys[0]).not.toContain('secret-token-value');
    expect(keys[0]).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it('never holds more than maxEntries, however many tokens are stored', () => {
    for (const max of [1, 2, 3, 10, 101]) {
      const cache = new VerifiedTokenCache<number>(max, clock);
      for (let i = 0; i < max * 5; i++) {
        cache.set(`token-${i}`, i, now + 1000);
        expect(cache.size).toBeLessThanOrEqual(max);
      }
      // the most recent token is always there
      expect(cache.get(`token-${max * 5 - 1}`)).toBe(max * 5 - 1);
    }
  });

  it('keeps a token that keeps being hit while newer tokens churn through, and drops idle ones', () => {
    const cache = new VerifiedTokenCache<string>(100, clock);
    cache.set('hot', 'h', now + 1000);
    cache.set('idle', 'i', now + 1000);
    for (let i = 0; i < 1000; i++) {
      cache.set(`churn-${i}`, 'c', now + 1000);
      // a hit every 40 insertions (fewer than maxEntries / 2) keeps the hot token
      if (i % 40 === 0) expect(cache.get('hot')).toBe('h');
      expect(cache.size).toBeLessThanOrEqual(100);
    }
    expect(cache.get('hot')).toBe('h');
    expect(cache.get('idle')).toBeUndefined();
  });

  it('a hit entry survives at least maxEntries / 2 further insertions', () => {
    const cache = new VerifiedTokenCache<string>(10, clock);
    for (let i = 0; i < 4; i++) cache.set(`pre-${i}`, 'p', now + 1000);
    cache.set('x', 'x', now + 1000);
    expect(cache.get('x')).toBe('x');
    for (let i = 0; i < 5; i++) cache.set(`new-${i}`, 'n', now + 1000);
    expect(cache.get('x')).toBe('x');
  });

  it('re-storing a token replaces its entry without growing the cache', () => {
    const cache = new VerifiedTokenCache<string>(4, clock);
    cache.set('a', '1', now + 1000);
    cache.set('b', '2', now + 1000);
    cache.set('c', '3', now + 1000); // a and b are now the old generation
    cache.set('a', '1b', now + 2000);
    expect(cache.get('a')).toBe('1b');
    expect(cache.size).toBe(3);
  });

  it('drops an expired entry on lookup in either generation, and never serves it', () => {
    const cache = new VerifiedTokenCache<string>(4, clock);
    cache.set('soon', 's', now + 10);
    cache.set('later', 'l', now + 10_000);
    cache.set('young', 'y', now + 10); // soon and later are now the old generation
    now += 10;
    expect(cache.get('soon')).toBeUndefined();
    expect(cache.get('young')).toBeUndefined();
    expect(cache.get('later')).toBe('l');
    expect(cache.size).toBe(1);
  });

  it('uses a precomputed key like the token itself, and delete removes the entry', () => {
    const cache = new VerifiedTokenCache<string>(4, clock);
    const key = hashToken('token-k');
    cache.set('token-k', 'v', now + 1000, key);
    expect(cache.get('token-k')).toBe('v');
    expect(cache.get('token-k', key)).toBe('v');
    cache.delete('token-k');
    expect(cache.get('token-k', key)).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  it('hashToken is the base64url SHA-256 of the token', () => {
    expect(hashToken('abc')).toBe(createHash('sha256').update('abc').digest('base64url'));
  });
});
