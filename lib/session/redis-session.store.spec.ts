import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { Redis } from 'ioredis';
import { connectRedis, deleteKeysUnder, uniquePrefix } from '../../test/fixtures/redis.js';
import { RedisSessionLock } from '../cache/redis-session-lock.js';
import { OidcError } from '../errors/oidc.error.js';
import { RedisSessionStore } from './redis-session.store.js';
import type { OidcSessionData } from './session-store.interface.js';
import { describeSessionStoreContract } from './session-store.contract.js';

let shared: Promise<Redis> | undefined;
/** One connection for the whole file; connecting fails with how to start Redis (these tests never skip). */
const redis = () => (shared ??= connectRedis());

afterAll(async () => {
  const client = await shared?.catch(() => undefined);
  await client?.quit();
});

describeSessionStoreContract('RedisSessionStore', async () => {
  const client = await redis();
  const prefix = uniquePrefix('contract');
  return { store: new RedisSessionStore({ client, prefix }), cleanup: () => deleteKeysUnder(client, prefix) };
});

const ISS = 'https://op.example.com';
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function data(sub: string, sid?: string, payload = `sealed-${sub}`): OidcSessionData {
  return { iss: ISS, sub, ...(sid ? { sid } : {}), expiresAt: Math.floor(Date.now() / 1000) + 120, payload };
}

describe('RedisSessionStore — on Redis', () => {
  let client: Redis;
  let prefix: string;
  let store: RedisSessionStore;

  beforeEach(async () => {
    client = await redis();
    prefix = uniquePrefix('redis-store');
    store = new RedisSessionStore({ client, prefix });
  });
  afterEach(() => deleteKeysUnder(client, prefix));

  it('writes exactly the given fields under `<prefix>s:{<id>}`, expiring after the ttl', async () => {
    const d = data('alice', 'sid-1', 'eyJhbGciOiJkaXIi.sealed');
    await store.set('id-1', d, 120);
    const raw = await client.get(`${prefix}s:{id-1}`);
    expect(JSON.parse(raw!)).toEqual(d);
    const ttl = await client.ttl(`${prefix}s:{id-1}`);
    expect(ttl).toBeGreaterThan(115);
    expect(ttl).toBeLessThanOrEqual(120);
  });

  it('indexes by sid and sub in keys that expire no sooner than the session, and not much later', async () => {
    await store.set('id-1', data('alice', 'sid-1'), 120);
    const session = await client.pttl(`${prefix}s:{id-1}`);
    for (const index of [`${prefix}sid:${ISS}\nsid-1`, `${prefix}sub:${ISS}\nalice`]) {
      await expect(client.zrange(index, '0', '-1')).resolves.toEqual(['id-1']);
      const pttl = await client.pttl(index);
      expect(pttl).toBeGreaterThanOrEqual(session);
      expect(pttl).toBeLessThanOrEqual(120_000 + 61_000);
    }
  });

  it('a longer-lived session extends its indexes; a shorter one never shortens them', async () => {
    const index = `${prefix}sub:${ISS}\nalice`;
    await store.set('id-1', data('alice', 'sid-1'), 60);
    const first = await client.pttl(index);
    await store.set('id-2', data('alice', 'sid-2'), 600);
    const extended = await client.pttl(index);
    expect(extended).toBeGreaterThan(first + 500_000);
    await store.set('id-3', data('alice', 'sid-3'), 5);
    expect(await client.pttl(index)).toBeGreaterThan(extended - 5_000);
  });

  it('drops index entries of expired sessions when the index is next written', async () => {
    const index = `${prefix}sub:${ISS}\nalice`;
    await client.zadd(index, Date.now() - 1_000, 'long-gone');
    await store.set('id-1', data('alice', 'sid-1'), 60);
    await expect(client.zrange(index, '0', '-1')).resolves.toEqual(['id-1']);
  });

  it('destroy and destroyBy remove the index entries, and the index keys with their last entry', async () => {
    await store.set('id-1', data('alice', 'sid-1'), 60);
    await store.set('id-2', data('alice', 'sid-2'), 60);
    await store.destroy('id-1');
    await expect(client.exists(`${prefix}sid:${ISS}\nsid-1`)).resolves.toBe(0);
    await expect(client.zrange(`${prefix}sub:${ISS}\nalice`, '0', '-1')).resolves.toEqual(['id-2']);
    await expect(store.destroyBy({ iss: ISS, sub: 'alice' })).resolves.toBe(1);
    await expect(client.exists(`${prefix}sub:${ISS}\nalice`, `${prefix}sid:${ISS}\nsid-2`, `${prefix}s:{id-2}`)).resolves.toBe(0);
  });

  it('destroyBy costs one index read plus work per match, however many other sessions exist (no KEYS/SCAN)', async () => {
    for (let i = 0; i < 50; i += 1) await store.set(`other-${i}`, data(`user-${i}`, `sid-o${i}`), 60);
    await store.set('a-1', data('alice', 'sid-a1'), 60);
    await store.set('a-2', data('alice', 'sid-a2'), 60);
    const commands: string[] = [];
    const recording = new Proxy(client, {
      get(target, property, receiver) {
        if (property !== 'call') return Reflect.get(target, property, receiver);
        return (command: string, ...args: unknown[]) => {
          commands.push(command.toUpperCase());
          return (target.call as (...a: unknown[]) => Promise<unknown>)(command, ...args);
        };
      },
    });
    const observed = new RedisSessionStore({ client: recording, prefix });
    await expect(observed.destroyBy({ iss: ISS, sub: 'alice' })).resolves.toBe(2);
    expect(commands).not.toContain('KEYS');
    expect(commands).not.toContain('SCAN');
    // 1 index read + 2 checked deletes + 2×2 index removals
    expect(commands).toHaveLength(7);
    await expect(store.get('other-7')).resolves.toBeDefined();
  });

  describe('replayCache', () => {
    it('records a key once and refuses it a second time, from any store on the same Redis', async () => {
      const other = new RedisSessionStore({ client, prefix });
      await expect(store.replayCache.recordOnce('logout:iss:jti-1', 60)).resolves.toBe(true);
      await expect(store.replayCache.recordOnce('logout:iss:jti-1', 60)).resolves.toBe(false);
      await expect(other.replayCache.recordOnce('logout:iss:jti-1', 60)).resolves.toBe(false);
      await expect(other.replayCache.recordOnce('logout:iss:jti-2', 60)).resolves.toBe(true);
    });

    it('forgets a key after its ttl, and keys it under the prefix with that expiry', async () => {
      await expect(store.replayCache.recordOnce('dpop:jkt:jti', 1)).resolves.toBe(true);
      const [key] = await client.keys(`${prefix}jti:*`);
      expect(await client.pttl(key!)).toBeGreaterThan(0);
      await sleep(1_100);
      await expect(store.replayCache.recordOnce('dpop:jkt:jti', 1)).resolves.toBe(true);
    });
  });

  describe('lock', () => {
    it('serialises two concurrent runs from two instances (separate connections)', async () => {
      const second = await connectRedis();
      try {
        const other = new RedisSessionStore({ client: second, prefix });
        const spans: Array<{ who: string; start: number; end: number }> = [];
        const work = (who: string) => async () => {
          const start = Date.now();
          await sleep(150);
          spans.push({ who, start, end: Date.now() });
          return who;
        };
        const results = await Promise.all([store.lock.run('refresh:k', work('a')), other.lock.run('refresh:k', work('b'))]);
        expect(results).toEqual(['a', 'b']);
        spans.sort((x, y) => x.start - y.start);
        expect(spans[1]!.start).toBeGreaterThanOrEqual(spans[0]!.end);
        await expect(client.exists(`${prefix}lock:refresh:k`)).resolves.toBe(0);
      } finally {
        second.disconnect();
      }
    });

    it('does not serialise different keys', async () => {
      let concurrent = 0;
      let most = 0;
      const work = async () => {
        most = Math.max(most, ++concurrent);
        await sleep(100);
        concurrent -= 1;
      };
      await Promise.all([store.lock.run('refresh:x', work), store.lock.run('refresh:y', work)]);
      expect(most).toBe(2);
    });

    it('passes the holder’s error through and releases the lock', async () => {
      const boom = new Error('boom');
      await expect(store.lock.run('refresh:k', () => Promise.reject(boom))).rejects.toBe(boom);
      await expect(store.lock.run('refresh:k', async () => 'next')).resolves.toBe('next');
    });

    it('a waiter gives up with ERR_OIDC_SESSION_STORE_UNAVAILABLE after waitMs', async () => {
      const impatient = new RedisSessionLock({ client, prefix, waitMs: 200 });
      let release!: () => void;
      let held!: () => void;
      const holds = new Promise<void>((resolve) => (held = resolve));
      const holding = store.lock.run('refresh:k', () => {
        held();
        return new Promise<void>((resolve) => (release = resolve));
      });
      await holds; // the holder has the lock before the waiter asks
      const started = Date.now();
      const error = await impatient.run('refresh:k', async () => 'never').catch((e: unknown) => e);
      expect(error).toBeInstanceOf(OidcError);
      expect((error as OidcError).code).toBe('ERR_OIDC_SESSION_STORE_UNAVAILABLE');
      expect(Date.now() - started).toBeLessThan(1_000);
      release();
      await holding;
    });

    it('a holder slower than its lease keeps the lock: it renews it while it runs', async () => {
      const second = await connectRedis();
      try {
        // A lease of 1 s renewed every ~333 ms: an event loop starved for over half a second on a loaded
        // machine is needed before a live holder loses it (with 100 ms leases, a busy CI machine did).
        const a = new RedisSessionLock({ client, prefix, leaseMs: 1_000 });
        const b = new RedisSessionLock({ client: second, prefix, leaseMs: 1_000, pollMs: 10 });
        const order: string[] = [];
        let held!: () => void;
        const holds = new Promise<void>((resolve) => (held = resolve));
        const slow = a.run('refresh:k', async () => {
          order.push('a:start');
          held();
          await sleep(2_600); // 2.6 leases: without renewals the lease would have run out twice
          order.push('a:end');
        });
        await holds; // a has the lock before b asks
        await b.run('refresh:k', async () => void order.push('b:start'));
        await slow;
        expect(order).toEqual(['a:start', 'a:end', 'b:start']);
      } finally {
        second.disconnect();
      }
    });

    it('does not release a lock that another holder took over (its lease ran out after it stopped answering)', async () => {
      const short = new RedisSessionLock({ client, prefix, leaseMs: 100 });
      await short.run('refresh:k', async () => {
        // As if this holder had stalled past its lease and another instance had taken the lock.
        await client.set(`${prefix}lock:refresh:k`, 'someone-else', 'PX', 5_000);
        await sleep(100); // renewals in between must not touch the other holder's lease
      });
      await expect(client.pttl(`${prefix}lock:refresh:k`)).resolves.toBeGreaterThan(4_000);
      await expect(client.get(`${prefix}lock:refresh:k`)).resolves.toBe('someone-else');
    });
  });
});

describe('RedisSessionStore — Redis unreachable', () => {
  it('fails at once with ERR_OIDC_SESSION_STORE_UNAVAILABLE when the connection is down', async () => {
    // disconnectTimeout: ioredis otherwise keeps a 2 s timer for the already-closed socket after disconnect().
    const client = new Redis('redis://127.0.0.1:9', { retryStrategy: () => 200, disconnectTimeout: 10 });
    client.on('error', () => undefined);
    try {
      await new Promise((resolve) => client.once('reconnecting', resolve));
      const store = new RedisSessionStore({ client });
      for (const call of [
        () => store.get('id'),
        () => store.set('id', data('alice', 'sid'), 60),
        () => store.destroy('id'),
        () => store.destroyBy({ iss: ISS, sub: 'alice' }),
        () => store.replayCache.recordOnce('k', 60),
        () => store.lock.run('k', async () => 'never'),
      ]) {
        const started = Date.now();
        const error = await call().catch((e: unknown) => e);
        expect(error).toBeInstanceOf(OidcError);
        expect((error as OidcError).code).toBe('ERR_OIDC_SESSION_STORE_UNAVAILABLE');
        expect(Date.now() - started).toBeLessThan(1_000);
      }
    } finally {
      client.disconnect();
    }
  });

  describe('a server that accepts connections but never answers', () => {
    let server: Server;
    const sockets = new Set<Socket>();
    beforeAll(async () => {
      server = createServer((socket) => {
        sockets.add(socket);
        socket.on('close', () => sockets.delete(socket));
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    });
    afterAll(async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    });

    it('fails within commandTimeout instead of waiting in the offline queue', async () => {
      const { port } = server.address() as AddressInfo;
      const client = new Redis(port, '127.0.0.1', { maxRetriesPerRequest: null });
      client.on('error', () => undefined);
      try {
        const store = new RedisSessionStore({ client, commandTimeout: 300 });
        const started = Date.now();
        const error = await store.get('id').catch((e: unknown) => e);
        expect((error as OidcError).code).toBe('ERR_OIDC_SESSION_STORE_UNAVAILABLE');
        expect(Date.now() - started).toBeGreaterThanOrEqual(250);
        expect(Date.now() - started).toBeLessThan(1_000);
      } finally {
        client.disconnect();
      }
    });
  });
});

describe('RedisSessionStore — options', () => {
  it('refuses a missing client or a bad prefix or timeout with a TypeError that names the option', () => {
    expect(() => new RedisSessionStore({} as never)).toThrow(/`client`/);
    const client = new Redis({ lazyConnect: true });
    try {
      expect(() => new RedisSessionStore({ client, prefix: 5 as never })).toThrow(TypeError);
      expect(() => new RedisSessionStore({ client, commandTimeout: 0 })).toThrow(/`commandTimeout`/);
      expect(() => new RedisSessionLock({ client, waitMs: -1 })).toThrow(/`waitMs`/);
    } finally {
      client.disconnect();
    }
  });
});
