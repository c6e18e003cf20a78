/**
 * Tokens for several APIs from one login (API.md §7.2, RFC 8707): `authorizationParams.resource` as an array is
 * sent as repeated parameters, and `OidcTokenService.getAccessToken(req, { resource, scope })` gets each API its own
 * token from the session's refresh token — against the real OP with two resource servers, over Express and Fastify.
 */
import { Controller, Get, Query, Req, UseGuards } from '@nestjs/common';
import { decodeJwt } from 'jose';
import type { Configuration, KoaContextWithOIDC } from 'oidc-provider';
import { OidcError, OidcGuard, OidcTokenService } from '../lib/index.js';
import { PLATFORMS, ProfileController, startTestApp, type TestApp } from './fixtures/app.fixture.js';
import { Browser } from './fixtures/browser.js';
import { loginThroughApp } from './fixtures/login.js';
import { API_RESOURCE, startTestOp, TEST_CLIENT_ID, TEST_CLIENT_SECRET, webClient, type TestOp } from './fixtures/op.fixture.js';
import { getFreePort } from './fixtures/ports.js';

const REPORTS = 'https://reports.example.test';

@Controller('tokens')
@UseGuards(OidcGuard)
class TokensController {
  constructor(private readonly tokens: OidcTokenService) {}

  @Get()
  async token(@Req() req: object, @Query('resource') resource?: string, @Query('scope') scope?: string) {
    try {
      const token = await this.tokens.getAccessToken(req, { resource, scope });
      const claims = decodeJwt(token!);
      return { token, aud: claims.aud, scope: claims.scope };
    } catch (err) {
      return { code: err instanceof OidcError ? err.code : String(err) };
    }
  }
}

/** The dev OP with a second API; tokens at the token endpoint are for the resource asked there, else for userinfo. */
const twoApis: Partial<Configuration> = {
  features: {
    resourceIndicators: {
      enabled: true,
      defaultResource: async () => undefined,
      useGrantedResource: async () => false,
      getResourceServerInfo: async (_ctx: KoaContextWithOIDC, indicator: string) => {
        const scope = indicator === API_RESOURCE ? 'api:read api:write' : indicator === REPORTS ? 'reports:read' : undefined;
        if (!scope) throw new Error('unknown resource');
        return { scope, audience: indicator, accessTokenFormat: 'jwt', accessTokenTTL: 3600, jwt: { sign: { alg: 'RS256' } } };
      },
    },
  } as Configuration['features'],
};

describe.each(PLATFORMS)('tokens for several APIs from one refresh token (%s)', (platform) => {
  let op: TestOp;
  let t: TestApp;
  let browser: Browser;

  beforeAll(async () => {
    const port = await getFreePort();
    op = await startTestOp({ clients: [webClient(`http://127.0.0.1:${port}`)], configuration: twoApis });
    t = await startTestApp({
      platform,
      port,
      options: {
        issuer: op.issuer,
        clientId: TEST_CLIENT_ID,
        clientSecret: TEST_CLIENT_SECRET,
        scope: 'openid profile email api:read reports:read',
        authorizationParams: { resource: [API_RESOURCE, REPORTS] },
      },
      controllers: [ProfileController, TokensController],
    });
    browser = new Browser();
    expect((await loginThroughApp(browser, t.baseUrl, 'multi')).status).toBe(302);
  });

  afterAll(async () => {
    await t?.close();
    await op?.close();
  });

  const get = async (query: string) => JSON.parse((await browser.get(`${t.baseUrl}/tokens?${query}`)).body) as Record<string, unknown>;

  it('RFC 8707 §2: the login asked for both resources (repeated parameters)', () => {
    const authorization = op.requests.find((r) => r.path === '/auth');
    expect(new URL(authorization!.url, op.issuer).searchParams.getAll('resource')).toEqual([API_RESOURCE, REPORTS]);
  });

  it('one refresh token, two APIs, two tokens — each kept in the session until due', async () => {
    const before = op.count('/token', 'POST');
    const api = await get(`resource=${encodeURIComponent(API_RESOURCE)}`);
    const reports = await get(`resource=${encodeURIComponent(REPORTS)}`);
    expect(api).toMatchObject({ aud: API_RESOURCE, scope: expect.stringContaining('api:read') });
    expect(reports).toMatchObject({ aud: REPORTS, scope: 'reports:read' });
    expect(op.count('/token', 'POST')).toBe(before + 2);
    // Cached in the sealed session: asked again, no call to the OP, the same token.
    expect((await get(`resource=${encodeURIComponent(API_RESOURCE)}`)).token).toBe(api.token);
    expect((await get(`resource=${encodeURIComponent(REPORTS)}`)).token).toBe(reports.token);
    expect(op.count('/token', 'POST')).toBe(before + 2);
  });

  it('down-scopes with scope (its own cache entry)', async () => {
    const narrow = await get(`resource=${encodeURIComponent(API_RESOURCE)}&scope=api:read`);
    expect(narrow).toMatchObject({ aud: API_RESOURCE, scope: 'api:read' });
  });

  it('an API the login did not ask for is refused, and the session lives on', async () => {
    expect(await get(`resource=${encodeURIComponent('https://elsewhere.example.test')}`)).toEqual({ code: 'ERR_OIDC_GRANT_REFUSED' });
    expect((await browser.get(`${t.baseUrl}/profile`)).status).toBe(200);
    expect(await get(`resource=${encodeURIComponent(REPORTS)}`)).toMatchObject({ aud: REPORTS });
  });

  it('a resource that is not an absolute URI is a TypeError for the caller, and no OP call', async () => {
    const before = op.count('/token', 'POST');
    expect((await get('resource=not-a-uri')).code).toContain('TypeError');
    expect(op.count('/token', 'POST')).toBe(before);
  });
});
