/**
 * Sub-only back-channel logout against the real OP (oidc-provider), with the memory store and on Redis.
 * Back-Channel Logout 1.0 §2.7: a logout token with `sub` and no `sid` names the sessions of that subject that
 * existed when it was issued — not one the user began afterwards. The OP's token is held back (as a delayed
 * delivery or an OP's retry would be, §2.8) while the same user logs in again; delivered then, it ends the old
 * session only. The app runs with `clockTolerance: 0`, so "afterwards" is the next second.
 */
import 'reflect-metadata';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Redis } from 'ioredis';
import { MemorySessionStore, RedisSessionStore, type OidcSessionStore } from '../lib/index.js';
import { PLATFORMS, SESSION_SECRET, startTestApp, type Platform, type TestApp } from './fixtures/app.fixture.js';
import { Browser } from './fixtures/browser.js';
import { confirmLogoutAtOp, loginThroughApp } from './fixtures/login.js';
import { postBackchannelLogout } from './fixtures/logout-token.js';
import { startTestOp, TEST_CLIENT_ID, TEST_CLIENT_SECRET, webClient, type TestOp } from './fixtures/op.fixture.js';
import { getFreePort } from './fixtures/ports.js';
import { connectRedis, deleteKeysUnder, uniquePrefix } from './fixtures/redis.js';

type StoreKind = 'memory' | 'redis';

/** Takes the OP's back-channel POSTs and answers 200 without passing them on: the test delivers them later. */
interface HoldingReceiver {
  url: string;
  bodies: string[];
  close(): Promise<void>;
}

async function startHoldingReceiver(): Promise<HoldingReceiver> {
  const bodies: string[] = [];
  const read = async (req: IncomingMessage) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString('utf8');
  };
  const server: Server = createServer((req, res) => {
    void read(req).then((body) => {
      bodies.push(body);
      res.writeHead(200);
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/backchannel-logout`,
    bodies,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

const nowSec = (): number => Math.floor(Date.now() / 1000);
const claimsOf = (body: string): Record<string, unknown> =>
  JSON.parse(Buffer.from(new URLSearchParams(body).get('logout_token')!.split('.')[1]!, 'base64url').toString('utf8')) as Record<
    string,
    unknown
  >;

/** Resolves once the wall clock is past epoch second `t` (at most a second: session times are whole seconds). */
async function untilAfter(t: number): Promise<void> {
  while (nowSec() <= t) await new Promise<void>((resolve) => setTimeout(resolve, 20));
}

const MATRIX: Array<[Platform, StoreKind]> = PLATFORMS.flatMap((p) =>
  (['memory', 'redis'] as const).map((s): [Platform, StoreKind] => [p, s]),
);

describe.each(MATRIX)('sub-only back-channel logout from oidc-provider (%s, %s store)', (platform, storeKind) => {
  let op: TestOp;
  let t: TestApp;
  let receiver: HoldingReceiver;
  let redis: Redis | undefined;
  const prefix = uniquePrefix('bcl-sub-only');

  beforeAll(async () => {
    receiver = await startHoldingReceiver();
    const port = await getFreePort();
    // No sid in the OP's logout tokens: backchannel_logout_session_required false (oidc-provider then sends sub only).
    op = await startTestOp({
      clients: [
        webClient(`http://127.0.0.1:${port}`, { backchannel_logout_uri: receiver.url, backchannel_logout_session_required: false }),
      ],
    });
    let store: OidcSessionStore = new MemorySessionStore();
    if (storeKind === 'redis') {
      redis = await connectRedis();
      store = new RedisSessionStore({ client: redis, prefix });
    }
    t = await startTestApp({
      platform,
      port,
      options: {
        issuer: op.issuer,
        clientId: TEST_CLIENT_ID,
        clientSecret: TEST_CLIENT_SECRET,
        clockTolerance: 0,
        session: { secret: SESSION_SECRET, store },
      },
    });
  });
  afterAll(async () => {
    await t?.close();
    await op?.close();
    await receiver?.close();
    if (redis) {
      await deleteKeysUnder(redis, prefix);
      await redis.quit();
    }
  });

  it('sub-only back-channel logout ends later sessions (§2.7): a token issued at T ends the session begun before T and spares the one begun after', async () => {
    const before = new Browser();
    await loginThroughApp(before, t.baseUrl, 'dana');
    expect((await before.get(`${t.baseUrl}/auth/me`)).status).toBe(200);

    // The user signs out at the OP: it issues a logout token with sub and no sid (held back by the receiver).
    receiver.bodies.length = 0;
    await confirmLogoutAtOp(before, `${op.issuer}/session/end`);
    expect(receiver.bodies).toHaveLength(1);
    const held = receiver.bodies[0]!;
    const claims = claimsOf(held);
    expect(claims).toMatchObject({ sub: 'dana' });
    expect(claims.sid).toBeUndefined();

    // The same user logs in again after the token was issued (clockTolerance 0: in a later second).
    await untilAfter(claims.iat as number);
    const after = new Browser();
    await loginThroughApp(after, t.baseUrl, 'dana');
    expect((await after.get(`${t.baseUrl}/auth/me`)).status).toBe(200);

    // Delivered now, the token ends the session that existed at its iat and spares the later one.
    const res = await postBackchannelLogout(t.baseUrl, held);
    expect(res.status).toBe(200);
    expect((await before.get(`${t.baseUrl}/auth/me`)).status).toBe(401);
    expect((await after.get(`${t.baseUrl}/auth/me`)).status).toBe(200);

    // A logout token issued after the second login ends that one too.
    receiver.bodies.length = 0;
    await confirmLogoutAtOp(after, `${op.issuer}/session/end`);
    expect(receiver.bodies).toHaveLength(1);
    expect((await postBackchannelLogout(t.baseUrl, receiver.bodies[0]!)).status).toBe(200);
    expect((await after.get(`${t.baseUrl}/auth/me`)).status).toBe(401);
  });
});
