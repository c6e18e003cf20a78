import { BoundedCache } from './bounded-cache.js';

describe('BoundedCache', () => {
  it('never holds more than maxEntries: the oldest write goes first', () => {
    const cache = new BoundedCache<string, number>(2);
    cache.set('a', 1);
    cache.set('b', 2);
    cache.set('c', 3);
    expect(cache.size).toBe(2);
    expect(cache.get('a')).toBeUndefined();
    expect([cache.get('b'), cache.get('c')]).toEqual([2, 3]);
  });

  it('rewriting a key makes it the newest', () => {
    const cache = new BoundedCache<string, number>(2);
    cache.set('a', 1);
    cache.set('b', 2);
    cache.set('a', 10);
    cache.set('c', 3);
    expect(cache.get('b')).toBeUndefined();
    expect(cache.get('a')).toBe(10);
  });

  it('with touchOnGet, a read keeps an entry (least recently used goes first)', () => {
    const lru = new BoundedCache<string, number>(2, Date.now, true);
    const fifo = new BoundedCache<string, number>(2);
    for (const cache of [lru, fifo]) {
      cache.set('a', 1);
      cache.set('b', 2);
      cache.get('a');
      cache.set('c', 3);
    }
    expect(lru.get('a')).toBe(1);
    expect(lru.get('b')).toBeUndefined();
    expect(fifo.get('a')).toBeUndefined();
  });

  it('drops an entry at its deadline, read from the injected clock', () => {
    let now = 1_000;
    const cache = new BoundedCache<string, string>(10, () => now);
    cache.set('k', 'v', 2_000);
    expect(cache.get('k')).toBe('v');
    now = 2_000;
    expect(cache.has('k')).toBe(false);
    expect(cache.size).toBe(0);
  });

  it('delete and clear forget entries, freeing room under the bound', () => {
    const cache = new BoundedCache<string, number>(2);
    cache.set('a', 1);
    cache.set('b', 2);
    cache.delete('a');
    cache.set('c', 3);
    expect(cache.has('b')).toBe(true);
    expect(cache.size).toBe(2);
    cache.clear();
    expect(cache.size).toBe(0);
    expect(cache.has('c')).toBe(false);
  });

  it('maxEntries 0 keeps nothing; a negative or fractional bound is a TypeError', () => {
    const none = new BoundedCache<string, number>(0);
    none.set('a', 1);
    expect(none.get('a')).toBeUndefined();
    expect(() => new BoundedCache(-1)).toThrow(TypeError);
    expect(() => new BoundedCache(1.5)).toThrow(TypeError);
  });
});
