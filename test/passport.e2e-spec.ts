/**
 * Passport interop (API.md §3): the module registers the strategies `oidc` (login session) and
 * `oidc-bearer` (Authorization header) on passport when it is installed, so `AuthGuard('oidc-bearer')` and
 * `AuthGuard('oidc')` from `@nestjs/passport` put the same `OidcUser` on `req.user` as `OidcGuard` does.
 * Against the real OP, over Express and Fastify. Passport strategies receive only the request: on Fastify
 * there is no way to reach the reply, so the 401 carries no `WWW-Authenticate` and a browser navigation
 * without a session gets 401 instead of the login redirect (Express gets both).
 */
import { Controller, Get, Req, UseGuards } from '@nestjs/common';
import { AuthGuard } from '@nestjs/passport';
import { clientCredentialsGrant, type Configuration as RpConfiguration } from 'openid-client';
import { AccessToken, CurrentUser, type OidcUser } from '../lib/index.js';
import { PLATFORMS, startTestApp, type TestApp } from './fixtures/app.fixture.js';
import { startOpAndApp, type OpAndApp } from './fixtures/op-app.fixture.js';
import { Browser } from './fixtures/browser.js';
import { loginThroughApp } from './fixtures/login.js';
import { API_RESOURCE, TEST_CLIENT_ID, TEST_CLIENT_SECRET } from './fixtures/op.fixture.js';

/** passport's default instance (no bundled types; the one @nestjs/passport's AuthGuard uses). */
interface PassportRegistry {
  Strategy: new () => object;
  _strategy(name: string): { name?: string } | undefined;
  use(name: string, strategy: object): void;
  unuse(name: string): void;
}
let registry: PassportRegistry;

beforeAll(async () => {
  const specifier = 'passport';
  registry = ((await import(specifier)) as { default: PassportRegistry }).default;
});

@Controller('passport')
class PassportController {
  @UseGuards(AuthGuard('oidc-bearer'))
  @Get('api')
  api(@Req() req: { user: OidcUser }, @CurrentUser() user: OidcUser, @AccessToken() token: string | undefined) {
    return { sub: req.user.sub, authMethod: req.user.authMethod, scopes: req.user.scopes, sameUser: req.user === user, hasToken: !!token };
  }

  @UseGuards(AuthGuard('oidc'))
  @Get('session')
  session(@Req() req: { user: OidcUser }, @CurrentUser('email') email: string) {
    return { sub: req.user.sub, authMethod: req.user.authMethod, sessionId: typeof req.user.sessionId, email };
  }
}

describe.each(PLATFORMS)('Passport strategies oidc and oidc-bearer with @nestjs/passport AuthGuard (%s)', (platform) => {
  let t: TestApp;
  let rp: RpConfiguration;
  let accessToken: string;

  let fixture: OpAndApp;

  beforeAll(async () => {
    fixture = await startOpAndApp(platform, { bearer: { audience: API_RESOURCE } }, { controllers: [PassportController] });
    ({ t, rp } = fixture);
    accessToken = (await clientCredentialsGrant(rp, { resource: API_RESOURCE, scope: 'api:read' })).access_token;
  });

  afterAll(async () => {
    await fixture?.close();
  });

  it('registers both strategies on passport while the app runs', () => {
    expect(registry._strategy('oidc')?.name).toBe('oidc');
    expect(registry._strategy('oidc-bearer')?.name).toBe('oidc-bearer');
  });

  describe("AuthGuard('oidc-bearer')", () => {
    it('a valid JWT access token from the OP: 200, the OidcUser on req.user and @CurrentUser alike', async () => {
      const res = await fetch(`${t.baseUrl}/passport/api`, { headers: { authorization: `Bearer ${accessToken}` } });
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ sub: TEST_CLIENT_ID, authMethod: 'bearer', scopes: ['api:read'], sameUser: true, hasToken: true });
      if (platform === 'express') expect(res.headers.get('cache-control')).toBe('no-store');
    });

    it('an invalid token: 401 (with the RFC 6750 challenge where the response is reachable)', async () => {
      const [h, p] = accessToken.split('.');
      const res = await fetch(`${t.baseUrl}/passport/api`, { headers: { authorization: `Bearer ${h}.${p}.${'A'.repeat(342)}` } });
      expect(res.status).toBe(401);
      expect(await res.text()).not.toContain(h);
      if (platform === 'express') {
        expect(res.headers.get('www-authenticate')).toMatch(
          /^Bearer realm="[^"]+", error="invalid_token", error_description="[^"]+", DPoP algs="/,
        );
      }
    });

    it('no Authorization header: 401; a malformed one: 400 invalid_request', async () => {
      const none = await fetch(`${t.baseUrl}/passport/api`);
      expect(none.status).toBe(401);
      if (platform === 'express') expect(none.headers.get('www-authenticate')).toMatch(/^Bearer realm="[^"]+", DPoP algs="[^"]+"$/);
      const malformed = await fetch(`${t.baseUrl}/passport/api`, { headers: { authorization: 'Basic dXNlcjpwYXNz' } });
      expect(malformed.status).toBe(400);
    });

    it('a session cookie alone does not pass the bearer strategy', async () => {
      const browser = new Browser();
      await loginThroughApp(browser, t.baseUrl, 'alice');
      expect((await browser.get(`${t.baseUrl}/passport/api`)).status).toBe(401);
    });
  });

  describe("AuthGuard('oidc')", () => {
    it('a session from a real login: 200 with the session OidcUser', async () => {
      const browser = new Browser();
      const callback = await loginThroughApp(browser, t.baseUrl, 'alice', { returnTo: '/passport/session' });
      expect(callback.status).toBe(302);
      const res = await browser.get(`${t.baseUrl}/passport/session`);
      expect(res.status).toBe(200);
      expect(JSON.parse(res.body)).toEqual({ sub: 'alice', authMethod: 'session', sessionId: 'string', email: 'alice@example.com' });
    });

    it('no session: 401 for an API call; a browser navigation is sent to the login route (Express) or gets 401 (Fastify)', async () => {
      const browser = new Browser();
      expect((await browser.get(`${t.baseUrl}/passport/session`)).status).toBe(401);
      const navigation = await browser.get(`${t.baseUrl}/passport/session?tab=1`, { navigation: true });
      if (platform === 'express') {
        expect(navigation.status).toBe(302);
        expect(navigation.location).toBe(`${t.baseUrl}/auth/login?returnTo=${encodeURIComponent('/passport/session?tab=1')}`);
      } else {
        expect(navigation.status).toBe(401);
      }
    });

    it('an access token is not a session: 401', async () => {
      const res = await fetch(`${t.baseUrl}/passport/session`, { headers: { authorization: `Bearer ${accessToken}` } });
      expect(res.status).toBe(401);
    });
  });
});

describe('Passport strategy registration lifecycle (express)', () => {
  const options = {
    issuer: 'http://127.0.0.1:1',
    clientId: TEST_CLIENT_ID,
    clientSecret: TEST_CLIENT_SECRET,
    bearer: { audience: API_RESOURCE },
  };

  it('removes its strategies when the app closes', async () => {
    const t = await startTestApp({ platform: 'express', controllers: [], options });
    expect(registry._strategy('oidc-bearer')).toBeDefined();
    await t.close();
    expect(registry._strategy('oidc')).toBeUndefined();
    expect(registry._strategy('oidc-bearer')).toBeUndefined();
  });

  it("leaves an application's own strategy of the same name in place", async () => {
    const own = new registry.Strategy();
    registry.use('oidc', own);
    try {
      const t = await startTestApp({ platform: 'express', controllers: [], options });
      expect(registry._strategy('oidc')).toBe(own);
      expect(registry._strategy('oidc-bearer')).toBeDefined();
      await t.close();
      expect(registry._strategy('oidc')).toBe(own);
    } finally {
      registry.unuse('oidc');
    }
  });
});
