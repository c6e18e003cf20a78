import { MemoryReplayCache } from './replay-cache.js';

describe('MemoryReplayCache', () => {
  it('refuses a replay until the identifier expires on the injected clock', async () => {
    let now = 1_000_000;
    const cache = new MemoryReplayCache(10, () => now);
    await expect(cache.recordOnce('jti-1', 60)).resolves.toBe(true);
    await expect(cache.recordOnce('jti-1', 60)).resolves.toBe(false);
    now += 59_999;
    await expect(cache.recordOnce('jti-1', 60)).resolves.toBe(false);
    now += 1;
    await expect(cache.recordOnce('jti-1', 60)).resolves.toBe(true);
  });

  it('remembers at most maxEntries identifiers, forgetting the oldest first', async () => {
    const cache = new MemoryReplayCache(2, () => 0);
    for (const jti of ['a', 'b', 'c']) await cache.recordOnce(jti, 60);
    await expect(cache.recordOnce('a', 60)).resolves.toBe(true);
    await expect(cache.recordOnce('c', 60)).resolves.toBe(false);
  });

  it('accepts a forgotten identifier again', async () => {
    const cache = new MemoryReplayCache();
    await cache.recordOnce('jti-2', 60);
    await cache.forget('jti-2');
    await expect(cache.recordOnce('jti-2', 60)).resolves.toBe(true);
  });
});
