/**
 * Issue "Scale-out on Redis": two app instances sharing one RedisSessionStore behave as one — against the
 * real OP fixture (oidc-provider) and a real Redis (REDIS_URL; these tests fail, never skip, without one).
 *
 * Redis outages use a redis-server of the test's own (never the machine's shared one). A hung Redis is
 * simulated with SIGSTOP/SIGCONT: the process keeps its data, so the test can prove that no session was
 * lost; a Redis that goes away is `SHUTDOWN SAVE` + restart on the same port (its dump is reloaded).
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Redis } from 'ioredis';
import { RedisSessionStore } from '../lib/session/redis-session.store.js';
import { SESSION_SECRET, startTestApp, type Platform, type TestApp } from './fixtures/app.fixture.js';
import { Browser, type BrowserResponse } from './fixtures/browser.js';
import { confirmLogoutAtOp, loginThroughApp } from './fixtures/login.js';
import { startTestOp, TEST_CLIENT_ID, TEST_CLIENT_SECRET, webClient, type TestOp } from './fixtures/op.fixture.js';
import { getFreePort } from './fixtures/ports.js';
import { connectRedis, deleteKeysUnder, keysUnder, startOwnRedisServer, uniquePrefix, type OwnRedisServer } from './fixtures/redis.js';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const refreshGrants = (op: TestOp) => op.requests.filter((r) => r.path === '/token' && r.method === 'POST').length;
const me = async (browser: Browser, app: TestApp) => {
  const res = await browser.get(`${app.baseUrl}/auth/me`);
  if (res.status !== 200) return { status: res.status, user: undefined };
  const { sub, sessionId } = JSON.parse(res.body) as { sub: string; sessionId: string };
  return { status: res.status, user: { sub, sessionId } };
};

/** The OP's client, registered for both instances; back-channel logout goes to `backchannelUri`. */
function sharedClient(portA: number, portB: number, backchannelUri: string) {
  const bases = [`http://127.0.0.1:${portA}`, `http://127.0.0.1:${portB}`];
  return webClient(bases[0]!, {
    redirect_uris: bases.map((b) => `${b}/auth/callback`),
    post_logout_redirect_uris: bases.flatMap((b) => [b, `${b}/`, `${b}/auth/logout/callback`]),
    backchannel_logout_uri: backchannelUri,
  });
}

async function startInstance(platform: Platform, port: number, issuer: string, client: Redis, prefix: string): Promise<TestApp> {
  return startTestApp({
    platform,
    port,
    options: {
      issuer,
      clientId: TEST_CLIENT_ID,
      clientSecret: TEST_CLIENT_SECRET,
      session: { secret: SESSION_SECRET, store: new RedisSessionStore({ client, prefix }) },
    },
  });
}

/** Records every back-channel logout POST the OP makes and forwards it to instance A. */
interface RecordingProxy {
  url: string;
  bodies: string[];
  statuses: number[];
  close(): Promise<void>;
}

async function startRecordingProxy(target: () => string): Promise<RecordingProxy> {
  const bodies: string[] = [];
  const statuses: number[] = [];
  const read = async (req: IncomingMessage) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString('utf8');
  };
  const server: Server = createServer((req, res) => {
    void (async () => {
      const body = await read(req);
      bodies.push(body);
      const forwarded = await fetch(target(), { method: 'POST', headers: { 'content-type': req.headers['content-type'] ?? '' }, body });
      statuses.push(forwarded.status);
      res.writeHead(forwarded.status, { 'content-type': forwarded.headers.get('content-type') ?? 'text/plain' });
      res.end(await forwarded.text());
    })().catch(() => {
      res.writeHead(502);
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/backchannel-logout`,
    bodies,
    statuses,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** Every key and value under `prefix`, as text. */
async function dumpRedis(client: Redis, prefix: string): Promise<string[]> {
  const out: string[] = [];
  for (const key of await keysUnder(client, prefix)) {
    out.push(key);
    const type = await client.type(key);
    if (type === 'string') out.push((await client.get(key)) ?? '');
    else if (type === 'zset') out.push(...(await client.zrange(key, '0', '-1')));
    else out.push(`<${type}>`);
  }
  return out;
}

describe.each<Platform>(['express', 'fastify'])('scale-out: two %s instances on one Redis', (platform) => {
  let op: TestOp;
  let a: TestApp;
  let b: TestApp;
  let proxy: RecordingProxy;
  let admin: Redis;
  const clients: Redis[] = [];
  const prefix = uniquePrefix(`scale-out-${platform}`);
  /** Every token endpoint response of the OP (access, refresh and ID tokens in plaintext). */
  const grants: Array<Record<string, unknown>> = [];

  beforeAll(async () => {
    admin = await connectRedis();
    const [portA, portB] = [await getFreePort(), await getFreePort()];
    proxy = await startRecordingProxy(() => `${a.baseUrl}/auth/backchannel-logout`);
    // Rotate on every refresh: a refresh token used twice would make the OP revoke the whole grant.
    op = await startTestOp({ clients: [sharedClient(portA, portB, proxy.url)], configuration: { rotateRefreshToken: () => true } });
    op.provider.on('grant.success', (ctx: { body?: unknown }) => grants.push({ ...(ctx.body as Record<string, unknown>) }));
    clients.push(await connectRedis(), await connectRedis());
    a = await startInstance(platform, portA, op.issuer, clients[0]!, prefix);
    b = await startInstance(platform, portB, op.issuer, clients[1]!, prefix);
  });
  afterAll(async () => {
    await Promise.all([a?.close(), b?.close()]);
    await Promise.all([op?.close(), proxy?.close()]);
    await Promise.all(clients.map((c) => c.quit()));
    if (admin) {
      await deleteKeysUnder(admin, prefix);
      await admin.quit();
    }
  });
  afterEach(() => {
    a.clock.offsetMs = 0;
    b.clock.offsetMs = 0;
  });

  it('a session started on A is the same session on B', async () => {
    const browser = new Browser();
    const callback = await loginThroughApp(browser, a.baseUrl, 'alice');
    expect(callback.status).toBe(302);
    const onA = await me(browser, a);
    const onB = await me(browser, b);
    expect(onA.status).toBe(200);
    expect(onB.status).toBe(200);
    expect(onB.user!.sub).toBe(onA.user!.sub);
    expect(onB.user!.sessionId).toBe(onA.user!.sessionId);
  });

  it('20 concurrent requests split across A and B on an expired session send exactly one refresh grant, and all succeed', async () => {
    const browser = new Browser();
    await loginThroughApp(browser, a.baseUrl, 'alice');
    for (const round of [1, 2]) {
      a.clock.advance(3 * 3600);
      b.clock.advance(3 * 3600);
      op.clearRequests();
      const responses = await Promise.all(Array.from({ length: 20 }, (_, i) => browser.get(`${(i % 2 ? b : a).baseUrl}/profile/raw`)));
      expect({ round, statuses: responses.map((r) => r.status) }).toEqual({ round, statuses: Array(20).fill(200) });
      expect({ round, grants: refreshGrants(op) }).toEqual({ round, grants: 1 });
      expect(responses.every((r) => JSON.parse(r.body).hasAccessToken)).toBe(true);
    }
    // Round 2 used the refresh token rotated in round 1: the winner stored it where both instances read it.
    expect((await me(browser, b)).status).toBe(200);
  });

  it('a back-channel logout delivered to A ends the session on B, and the replayed logout token is refused by B', async () => {
    const alice = new Browser();
    const bob = new Browser();
    await loginThroughApp(alice, a.baseUrl, 'alice');
    await loginThroughApp(bob, b.baseUrl, 'bob');
    expect((await me(alice, b)).status).toBe(200);
    proxy.bodies.length = 0;
    proxy.statuses.length = 0;

    await confirmLogoutAtOp(alice, `${op.issuer}/session/end`);
    expect(proxy.statuses).toEqual([200]);
    expect((await me(alice, b)).status).toBe(401);
    expect((await me(alice, a)).status).toBe(401);
    expect((await me(bob, b)).status).toBe(200);

    // The same logout token, replayed to the other instance: its jti is in the shared replay cache.
    const replay = await fetch(`${b.baseUrl}/auth/backchannel-logout`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: proxy.bodies[0],
    });
    expect(replay.status).toBe(400);
    expect(await replay.json()).toMatchObject({ error: 'invalid_request' });

    // Control: an instance with a store of its own (another prefix) still accepts that very token.
    const otherPrefix = uniquePrefix(`scale-out-${platform}-control`);
    const c = await startInstance(platform, await getFreePort(), op.issuer, clients[0]!, otherPrefix);
    try {
      const fresh = await fetch(`${c.baseUrl}/auth/backchannel-logout`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: proxy.bodies[0],
      });
      expect(fresh.status).toBe(200);
    } finally {
      await c.close();
      await deleteKeysUnder(admin, otherPrefix);
    }
  });

  it('Redis holds no token, no claim beyond iss/sub/sid, and no usable cookie', async () => {
    const browser = new Browser();
    await loginThroughApp(browser, a.baseUrl, 'carol');
    a.clock.advance(3 * 3600);
    expect((await browser.get(`${a.baseUrl}/profile`)).status).toBe(200); // refreshed: new tokens stored too
    const cookie = browser.cookie(a.baseUrl, 'oidc.session')!;
    const dump = (await dumpRedis(admin, prefix)).join('\n');

    const secrets = grants.flatMap((g) => [g.access_token, g.refresh_token, g.id_token]).filter((v): v is string => typeof v === 'string');
    expect(secrets.length).toBeGreaterThan(3);
    for (const secret of secrets) expect(dump.includes(secret)).toBe(false);
    for (const email of ['alice@example.com', 'bob@example.com', 'carol@example.com']) expect(dump).not.toContain(email);
    expect(dump).not.toContain(cookie.slice(0, cookie.lastIndexOf('.')));
    expect(dump).toContain('carol'); // the plain sub index is there: the dump is not empty by accident
  });
});

describe('scale-out: Redis outage (express, a redis-server of the test’s own)', () => {
  let server: OwnRedisServer;
  let op: TestOp;
  let a: TestApp;
  let b: TestApp;
  const clients: Redis[] = [];
  const prefix = uniquePrefix('scale-out-outage');

  beforeAll(async () => {
    server = await startOwnRedisServer();
    const [portA, portB] = [await getFreePort(), await getFreePort()];
    op = await startTestOp({ clients: [sharedClient(portA, portB, `http://127.0.0.1:${portA}/auth/backchannel-logout`)] });
    clients.push(await connectRedis(server.url), await connectRedis(server.url));
    a = await startInstance('express', portA, op.issuer, clients[0]!, prefix);
    b = await startInstance('express', portB, op.issuer, clients[1]!, prefix);
  });
  afterAll(async () => {
    server?.resume();
    await Promise.all([a?.close(), b?.close()]);
    await op?.close();
    for (const c of clients) c.disconnect();
    await server?.close();
  });

  /** What the store being down must look like: 503 for JSON and navigations alike, never 401/500 or a login redirect. */
  async function expectUnavailable(browser: Browser): Promise<void> {
    const started = Date.now();
    const results: BrowserResponse[] = await Promise.all([
      browser.get(`${a.baseUrl}/auth/me`),
      browser.get(`${b.baseUrl}/profile`),
      browser.get(`${b.baseUrl}/profile`, { navigation: true }),
      browser.get(`${a.baseUrl}/auth/login`, { navigation: true }),
    ]);
    expect(results.map((r) => `${r.url} ${r.status}`)).toEqual(results.map((r) => `${r.url} 503`));
    expect(Date.now() - started).toBeLessThan(3_000);
    // The session cookie is kept: an unavailable store is not a logout.
    expect(results.flatMap((r) => r.setCookies).filter((c) => c.name === 'oidc.session')).toEqual([]);
  }

  async function eventually200(browser: Browser, app: TestApp): Promise<{ sub: string; sessionId: string }> {
    for (let attempt = 0; attempt < 100; attempt += 1) {
      const res = await me(browser, app);
      if (res.status === 200) return res.user!;
      expect(res.status).toBe(503);
      await sleep(100);
    }
    throw new Error('the instance did not recover within 10 s');
  }

  it('a hung Redis (SIGSTOP) answers 503 on both instances; when it answers again the session is still there', async () => {
    const browser = new Browser();
    await loginThroughApp(browser, a.baseUrl, 'alice');
    const before = (await me(browser, b)).user!;

    server.pause();
    try {
      await expectUnavailable(browser);
    } finally {
      server.resume();
    }
    expect(await eventually200(browser, b)).toEqual(before);
    expect(await eventually200(browser, a)).toEqual(before);
  });

  it('a Redis that goes away answers 503 at once; after it restarts the instances reconnect and the session is back', async () => {
    const browser = new Browser();
    await loginThroughApp(browser, b.baseUrl, 'bob');
    const before = (await me(browser, a)).user!;

    await server.stop();
    try {
      await expectUnavailable(browser);
    } finally {
      await server.start();
    }
    expect(await eventually200(browser, a)).toEqual(before);
    expect(await eventually200(browser, b)).toEqual(before);
    // Logins work again too.
    expect((await loginThroughApp(new Browser(), a.baseUrl, 'carol')).status).toBe(302);
  });
});
