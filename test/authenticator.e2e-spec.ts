/**
 * OidcAuthenticator (API.md §7.4): the guard's authentication for custom transports — here a plain node HTTP
 * server standing in for a WebSocket upgrade — against the real OP, with Bearer tokens and a real session.
 * And `globalGuard`: the module's guard is an app-wide guard only when asked.
 */
import { createServer, request as httpRequest, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApplicationConfig } from '@nestjs/core';
import { clientCredentialsGrant } from 'openid-client';
import { MemorySessionStore, OidcAuthenticator, OidcError, OidcGuard } from '../lib/index.js';
import { OIDC_SESSION_STORE } from '../lib/oidc.constants.js';
import { PLATFORMS, SESSION_SECRET, startTestApp } from './fixtures/app.fixture.js';
import { Browser } from './fixtures/browser.js';
import { loginThroughApp } from './fixtures/login.js';
import { startOpAndApp, type OpAndApp } from './fixtures/op-app.fixture.js';
import { API_RESOURCE, TEST_CLIENT_ID } from './fixtures/op.fixture.js';

/** What the stand-in transport answers: the user's sub and method, "anonymous", or the refusal's code. */
function transportServer(authenticator: OidcAuthenticator): Server {
  return createServer((req: IncomingMessage, res) => {
    authenticator.authenticate(req).then(
      (user) => res.end(JSON.stringify(user ? { sub: user.sub, authMethod: user.authMethod } : { anonymous: true })),
      (err: unknown) => res.end(JSON.stringify({ refused: err instanceof OidcError ? err.code : 'not an OidcError' })),
    );
  });
}

function get(url: string, headers: Record<string, string> = {}): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    httpRequest(url, { headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>));
    })
      .on('error', reject)
      .end();
  });
}

describe.each(PLATFORMS)('OidcAuthenticator outside HTTP routes (%s)', (platform) => {
  let fixture: OpAndApp;
  let server: Server;
  let url: string;

  beforeAll(async () => {
    fixture = await startOpAndApp(platform, { bearer: { audience: API_RESOURCE } });
    server = transportServer(fixture.t.app.get(OidcAuthenticator));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/socket`;
  });

  afterAll(async () => {
    await new Promise((resolve) => server?.close(resolve));
    await fixture?.close();
  });

  it('authenticates a Bearer access token on a plain node request', async () => {
    const { access_token } = await clientCredentialsGrant(fixture.rp, { resource: API_RESOURCE, scope: 'api:read' });
    expect(await get(url, { authorization: `Bearer ${access_token}` })).toEqual({ sub: TEST_CLIENT_ID, authMethod: 'bearer' });
  });

  it('resolves to undefined without a credential, and rejects a refused one with its code', async () => {
    expect(await get(url)).toEqual({ anonymous: true });
    expect(await get(url, { authorization: 'Bearer not-a-token' })).toEqual({ refused: 'ERR_OIDC_INVALID_TOKEN' });
    expect(await get(url, { authorization: 'Basic dXNlcjpwYXNz' })).toEqual({ refused: 'ERR_OIDC_INVALID_REQUEST' });
  });

  it('authenticates the session cookie of a real login (what a WebSocket upgrade carries)', async () => {
    const browser = new Browser();
    const callback = await loginThroughApp(browser, fixture.t.baseUrl, 'ws-user');
    expect(callback.status).toBe(302);
    const cookie = browser
      .cookies(fixture.t.baseUrl)
      .map((c) => `${c.name}=${c.value}`)
      .join('; ');
    expect(await get(url, { cookie })).toEqual({ sub: 'ws-user', authMethod: 'session' });
  });
});

describe('what the module provides', () => {
  it('a MemorySessionStore when session.store is unset, else the one given', async () => {
    const mine = new MemorySessionStore();
    const apps = await Promise.all(
      [undefined, mine].map((store) =>
        startTestApp({
          platform: 'express',
          options: { issuer: 'http://127.0.0.1:9/op', clientId: 'c', session: { secret: SESSION_SECRET, ...(store ? { store } : {}) } },
        }),
      ),
    );
    try {
      const [byDefault, given] = apps.map((t) => t.app.get<symbol, unknown>(OIDC_SESSION_STORE));
      expect(byDefault).toBeInstanceOf(MemorySessionStore);
      expect(byDefault).not.toBe(mine);
      expect(given).toBe(mine);
    } finally {
      await Promise.all(apps.map((t) => t.close()));
    }
  });
});

describe('globalGuard registers the module guard app-wide only when on', () => {
  it.each([
    [false, 0],
    [true, 1],
  ])('globalGuard %s → %i global guard(s), the OidcGuard', async (globalGuard, expected) => {
    const t = await startTestApp({ platform: 'express', options: { issuer: 'http://127.0.0.1:9/op', clientId: 'c', globalGuard } });
    try {
      // Nest leaves out a null APP_GUARD; anything else would run on every route of the app.
      const guards = t.app
        .get(ApplicationConfig)
        .getGlobalGuards()
        .filter((guard) => guard != null);
      expect(guards).toHaveLength(expected);
      expect(guards.every((guard) => guard instanceof OidcGuard)).toBe(true);
    } finally {
      await t.close();
    }
  });
});
