/**
 * Single-use login state (RFC 9700 §4.5.3.1, §2.1.1). A callback replayed with the cookies from before the first
 * one (transaction cookie included) must not reach the token endpoint again: the real OP would treat the second
 * redemption of the code as an attack and revoke the whole grant, killing the first session's tokens while its
 * local session lives on. The replay is a 400; the first session and its tokens keep working.
 */
import { tokenIntrospection } from 'openid-client';
import { PLATFORMS } from './fixtures/app.fixture.js';
import { Browser } from './fixtures/browser.js';
import { authorizeAtOp } from './fixtures/login.js';
import { startOpAndApp, type OpAndApp } from './fixtures/op-app.fixture.js';

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
    const txCookie = start.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
    const callbackUrl = await authorizeAtOp(new Browser(), start.headers.get('location')!, 'alice');
    env.op.clearRequests();

    const first = await fetch(callbackUrl, { redirect: 'manual', headers: { cookie: txCookie } });
    expect(first.status).toBe(302);
    const session = first.headers.getSetCookie().find((c) => c.startsWith('oidc.session='))!.split(';')[0]!;
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
