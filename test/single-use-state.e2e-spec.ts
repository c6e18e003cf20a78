/**
 * Single-use login state (RFC 9700 §4.5.3.1, §2.1.1). A callback replayed with the cookies from before the first
 * one (transaction cookie included) must not reach the token endpoint again: the real OP would treat the second
 * redemption of the code as an attack and revoke the whole grant, killing the first session's tokens while its
 * local session lives on. The replay is a 400; the first session and its tokens keep working.
 */
import type { Redis } from 'ioredis';
import { allowInsecureRequests, discovery, tokenIntrospection } from 'openid-client';
import { RedisSessionStore } from '../lib/index.js';
import { PLATFORMS, SESSION_SECRET, startTestApp, type TestApp } from './fixtures/app.fixture.js';
import { Browser } from './fixtures/browser.js';
import { authorizeAtOp } from './fixtures/login.js';
import { startOpAndApp, type OpAndApp } from './fixtures/op-app.fixture.js';
import { startTestOp, TEST_CLIENT_ID, TEST_CLIENT_SECRET, webClient, type TestOp } from './fixtures/op.fixture.js';
import { getFreePort } from './fixtures/ports.js';
import { connectRedis, deleteKeysUnder, uniquePrefix } from './fixtures/redis.js';

describe.each(PLATFORMS)('single-use login state (%s)', (platform) => {
  let env: OpAndApp;

  beforeAll(async () => {
    env = await startOpAndApp(platform);
  });
  afterAll(async () => {
    await env?.close();
  });

  it('single-use state: a replayed callback with the pre-callback cookies is 400, never reaches /token, and the first session keeps its tokens', async () => {
    const start = await fetch(`${env.t.baseUrl}/auth/login`, { redirect: 'manual' });
    const txCookie = start.headers
      .getSetCookie()
      .map((c) => c.split(';')[0])
      .join('; ');
    const callbackUrl = await authorizeAtOp(new Browser(), start.headers.get('location')!, 'alice');
    env.op.clearRequests();

    const first = await fetch(callbackUrl, { redirect: 'manual', headers: { cookie: txCookie } });
    expect(first.status).toBe(302);
    const session = first.headers
      .getSetCookie()
      .find((c) => c.startsWith('oidc.session='))!
      .split(';')[0]!;
    expect(env.op.count('/token', 'POST')).toBe(1);

    const replay = await fetch(callbackUrl, { redirect: 'manual', headers: { cookie: txCookie } });
    expect(replay.status).toBe(400);
    expect(replay.headers.getSetCookie().some((c) => c.startsWith('oidc.session=') && !c.startsWith('oidc.session=;'))).toBe(false);
    expect(env.op.count('/token', 'POST')).toBe(1);

    // The first session still works, and its access token is still active at the OP (the grant was not revoked).
    const token = await fetch(`${env.t.baseUrl}/profile/token`, { headers: { cookie: session } });
    expect(token.status).toBe(200);
    const accessToken = (await token.json()).token as string;
    expect((await tokenIntrospection(env.rp, accessToken)).active).toBe(true);
  });
});

describe.each(PLATFORMS)('single-use login state across instances on one Redis (%s)', (platform) => {
  let op: TestOp;
  let a: TestApp;
  let b: TestApp;
  let redis: Redis;
  const prefix = uniquePrefix('single-use-state');

  beforeAll(async () => {
    redis = await connectRedis();
    const port = await getFreePort();
    const baseUrl = `http://127.0.0.1:${port}`;
    op = await startTestOp({ clients: [webClient(baseUrl)] });
    // Two instances of one app (one baseUrl, as behind a load balancer), sharing sessions and the replay cache.
    const start = (listenPort?: number) =>
      startTestApp({
        platform,
        port: listenPort,
        options: {
          issuer: op.issuer,
          clientId: TEST_CLIENT_ID,
          clientSecret: TEST_CLIENT_SECRET,
          baseUrl,
          session: { secret: SESSION_SECRET, store: new RedisSessionStore({ client: redis, prefix }) },
        },
      });
    a = await start(port);
    b = await start();
  });
  afterAll(async () => {
    await b?.close();
    await a?.close();
    await op?.close();
    await deleteKeysUnder(redis, prefix);
    await redis?.quit();
  });

  it('single-use state: the callback replayed to another instance with the pre-callback cookies is 400 and never reaches /token', async () => {
    const start = await fetch(`${a.baseUrl}/auth/login`, { redirect: 'manual' });
    const txCookie = start.headers
      .getSetCookie()
      .map((c) => c.split(';')[0])
      .join('; ');
    const callbackUrl = await authorizeAtOp(new Browser(), start.headers.get('location')!, 'alice');
    op.clearRequests();

    const first = await fetch(callbackUrl, { redirect: 'manual', headers: { cookie: txCookie } });
    expect(first.status).toBe(302);
    const session = first.headers
      .getSetCookie()
      .find((c) => c.startsWith('oidc.session='))!
      .split(';')[0]!;

    const onB = new URL(callbackUrl);
    onB.port = String(b.port);
    const replay = await fetch(onB, { redirect: 'manual', headers: { cookie: txCookie } });
    expect(replay.status).toBe(400);
    expect(op.count('/token', 'POST')).toBe(1);

    // The first session, read through the other instance, still has a token the OP considers active.
    const token = await fetch(`http://127.0.0.1:${b.port}/profile/token`, { headers: { cookie: session } });
    expect(token.status).toBe(200);
    const rp = await discovery(new URL(op.issuer), TEST_CLIENT_ID, TEST_CLIENT_SECRET, undefined, { execute: [allowInsecureRequests] });
    expect((await tokenIntrospection(rp, (await token.json()).token as string)).active).toBe(true);
  });
});
