import { VerifiedTokenCache } from './verified-token.cache.js';

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
    const keys = [...(cache as unknown as { entries: Map<string, unknown> }).entries.keys()];
    expect(keys).toHaveLength(1);
    expect(keys[0]).not.toContain('secret-token-value');
    expect(keys[0]).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });
});
