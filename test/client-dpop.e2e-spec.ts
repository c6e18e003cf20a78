/**
 * Sender-constrained session tokens (RFC 9449 §5, API.md §7.3) against the real OP, which requires a DPoP nonce
 * (RFC 9449 §8) here: the code grant and refreshes carry proofs, the OP binds the tokens, and
 * `OidcTokenService.fetch()` calls a protected resource (the OP's userinfo endpoint) with `Authorization: DPoP` and a
 * proof — where the same token sent as a Bearer token is refused. The key never leaves the sealed session.
 */
import { randomBytes } from 'node:crypto';
import { Controller, Get, Req, UseGuards } from '@nestjs/common';
import { AccessToken, MemorySessionStore, OidcGuard, OidcTokenService } from '../lib/index.js';
import { OIDC_SESSION_STORE } from '../lib/oidc.constants.js';
import { PLATFORMS, ProfileController, startTestApp, type TestApp } from './fixtures/app.fixture.js';
import { Browser } from './fixtures/browser.js';
import { CapturingLogger } from './fixtures/capturing-logger.js';
import { loginThroughApp } from './fixtures/login.js';
import { startTestOp, TEST_CLIENT_ID, TEST_CLIENT_SECRET, webClient, type TestOp } from './fixtures/op.fixture.js';
import { getFreePort } from './fixtures/ports.js';

let userinfoUrl = '';

@Controller('calls')
@UseGuards(OidcGuard)
class CallsController {
  constructor(private readonly tokens: OidcTokenService) {}

  @Get('userinfo')
  async userinfo(@Req() req: object) {
    const res = await this.tokens.fetch(req, userinfoUrl);
    return { status: res.status, body: res.status === 200 ? await res.json() : await res.text() };
  }

  @Get('token')
  token(@AccessToken() token: string) {
    return { token };
  }
}

describe.each(PLATFORMS)('client-side DPoP: a DPoP-bound session (%s)', (platform) => {
  let op: TestOp;
  let t: TestApp;
  let browser: Browser;
  const logger = new CapturingLogger();

  beforeAll(async () => {
    const port = await getFreePort();
    op = await startTestOp({
      clients: [webClient(`http://127.0.0.1:${port}`)],
      configuration: { features: { dPoP: { enabled: true, nonceSecret: randomBytes(32), requireNonce: () => true } } },
    });
    userinfoUrl = `${op.issuer}/me`;
    t = await startTestApp({
      platform,
      port,
      options: { issuer: op.issuer, clientId: TEST_CLIENT_ID, clientSecret: TEST_CLIENT_SECRET, dpop: true },
      controllers: [ProfileController, CallsController],
      logger,
    });
    browser = new Browser();
    expect((await loginThroughApp(browser, t.baseUrl, 'proof')).status).toBe(302);
  });

  afterAll(async () => {
    await t?.close();
    await op?.close();
  });

  it('RFC 9449 §7: the OP refuses the session token without a proof, and accepts it through tokens.fetch() with one', async () => {
    userinfoUrl = `${op.issuer}/me`;
    const { token } = JSON.parse((await browser.get(`${t.baseUrl}/calls/token`)).body) as { token: string };
    const bare = await fetch(userinfoUrl, { headers: { authorization: `Bearer ${token}` } });
    expect(bare.status).toBe(401);
    const viaModule = JSON.parse((await browser.get(`${t.baseUrl}/calls/userinfo`)).body) as { status: number; body: { sub?: string } };
    expect(viaModule).toMatchObject({ status: 200, body: { sub: 'proof' } });
  });

  it('the code grant and the refresh sent proofs, with the nonce the OP requires (RFC 9449 §8)', async () => {
    const tokenCalls = () => op.requests.filter((r) => r.path === '/token').length;
    const before = tokenCalls();
    const tokenNow = async () => (JSON.parse((await browser.get(`${t.baseUrl}/calls/token`)).body) as { token: string }).token;
    const old = await tokenNow();
    // Past the access token's lifetime on the app's clock: the next request refreshes, with a proof.
    t.clock.advance(3 * 3600);
    let refreshed: string;
    try {
      const viaModule = JSON.parse((await browser.get(`${t.baseUrl}/calls/userinfo`)).body) as { status: number };
      expect(viaModule.status).toBe(200);
      refreshed = await tokenNow();
    } finally {
      t.clock.advance(-3 * 3600);
    }
    expect(tokenCalls()).toBeGreaterThan(before);
    // The refreshed token is a new one and DPoP-bound too: the OP refuses it as a plain Bearer token.
    expect(refreshed).not.toBe(old);
    expect((await fetch(userinfoUrl, { headers: { authorization: `Bearer ${refreshed}` } })).status).toBe(401);
  });

  it('the private key never leaves the sealed session: not in /auth/me, the store, or the log', async () => {
    const me = await browser.get(`${t.baseUrl}/auth/me`);
    expect(me.status).toBe(200);
    const store = t.app.get<symbol, MemorySessionStore>(OIDC_SESSION_STORE);
    // The records as the store hands them out (what any store would hold).
    const ids = [...(store as unknown as { entries: Map<string, unknown> }).entries.keys()];
    expect(ids.length).toBeGreaterThan(0);
    const dump = JSON.stringify(await Promise.all(ids.map((id) => store.get(id))));
    expect(dump).toContain('"payload"');
    for (const text of [me.body, dump, logger.lines.join('\n')]) {
      expect(text).not.toMatch(/"d"\s*:/);
      expect(text).not.toMatch(/"kty"\s*:\s*"EC"/);
    }
  });
});
