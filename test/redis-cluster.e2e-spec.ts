/**
 * RedisSessionStore on a real Redis Cluster (three masters of the test's own): every command and script
 * touches one key, so nothing fails with CROSSSLOT and sessions, indexes, jtis and locks spread over
 * the slots. The same store contract as on a single server, plus the shared replay cache and the lock.
 */
import type { Cluster } from 'ioredis';
import { RedisSessionStore } from '../lib/index.js';
import { describeSessionStoreContract } from '../lib/session/session-store.contract.js';
import { startOwnRedisCluster, type OwnRedisCluster } from './fixtures/redis-cluster.js';
import { uniquePrefix } from './fixtures/redis.js';

const ISS = 'https://op.example.com';

let cluster: OwnRedisCluster;
let client: Cluster;

beforeAll(async () => {
  cluster = await startOwnRedisCluster(3);
  client = await cluster.connect();
}, 60_000);

afterAll(async () => {
  client?.disconnect();
  await cluster?.close();
});

describeSessionStoreContract('RedisSessionStore on a Redis Cluster', async () => ({
  store: new RedisSessionStore({ client, prefix: uniquePrefix('cluster') }),
}));

describe('RedisSessionStore on a Redis Cluster — spread and shared parts', () => {
  it('spreads sessions over the masters, and finds them all again by sub', async () => {
    const prefix = uniquePrefix('cluster-spread');
    const store = new RedisSessionStore({ client, prefix });
    const expiresAt = Math.floor(Date.now() / 1000) + 120;
    for (let i = 0; i < 30; i += 1) {
      await store.set(`id-${i}`, { iss: ISS, sub: 'alice', sid: `sid-${i}`, expiresAt, payload: `sealed-${i}` }, 120);
    }
    // Each master holds some of the sessions (their keys hash to slots all over the cluster).
    const perNode = await Promise.all(
      client.nodes('master').map(async (node) => {
        let count = 0;
        let cursor = '0';
        do {
          const [next, keys] = await node.scan(cursor, 'MATCH', `${prefix}s:*`, 'COUNT', 1000);
          count += keys.length;
          cursor = next;
        } while (cursor !== '0');
        return count;
      }),
    );
    expect(perNode).toHaveLength(3);
    expect(perNode.reduce((a, b) => a + b, 0)).toBe(30);
    expect(perNode.filter((n) => n > 0).length).toBeGreaterThanOrEqual(2);
    await expect(store.destroyBy({ iss: ISS, sub: 'alice' })).resolves.toBe(30);
    await expect(store.get('id-7')).resolves.toBeUndefined();
  });

  it('refuses a replayed jti and serialises the refresh lock across two cluster clients', async () => {
    const prefix = uniquePrefix('cluster-shared');
    const other = await cluster.connect();
    try {
      const a = new RedisSessionStore({ client, prefix });
      const b = new RedisSessionStore({ client: other, prefix });
      await expect(a.replayCache.recordOnce('logout:iss:jti-1', 60)).resolves.toBe(true);
      await expect(b.replayCache.recordOnce('logout:iss:jti-1', 60)).resolves.toBe(false);

      const order: string[] = [];
      const work = (who: string) => async () => {
        order.push(`${who}:start`);
        await new Promise((resolve) => setTimeout(resolve, 100));
        order.push(`${who}:end`);
      };
      await Promise.all([a.lock.run('refresh:k', work('a')), b.lock.run('refresh:k', work('b'))]);
      // One at a time: whoever started first ended before the other started.
      const first = order[0]!.split(':')[0];
      const second = first === 'a' ? 'b' : 'a';
      expect(order).toEqual([`${first}:start`, `${first}:end`, `${second}:start`, `${second}:end`]);
    } finally {
      other.disconnect();
    }
  });
});
