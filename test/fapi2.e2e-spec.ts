/**
 * The FAPI 2.0 Security Profile (`profile: 'fapi2'`, API.md §7.3) against oidc-provider with its FAPI 2.0 profile
 * turned on (PAR required, private_key_jwt, DPoP-bound tokens, RFC 9207 `iss`), over Express and Fastify; and the
 * bootstrap refusing every option that would weaken the profile, naming it.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Controller, Get, Req, UseGuards } from '@nestjs/common';
import { exportJWK, generateKeyPair, type JWK } from 'jose';
import { OidcGuard, OidcTokenService, type OidcModuleOptions } from '../lib/index.js';
import { PLATFORMS, ProfileController, startTestApp, type TestApp } from './fixtures/app.fixture.js';
import { Browser } from './fixtures/browser.js';
import { loginThroughApp } from './fixtures/login.js';
import { startTestOp, TEST_CLIENT_ID, webClient, type TestOp } from './fixtures/op.fixture.js';
import { getFreePort } from './fixtures/ports.js';

let userinfoUrl = '';

@Controller('calls')
@UseGuards(OidcGuard)
class CallsController {
  constructor(private readonly tokens: OidcTokenService) {}

  @Get('userinfo')
  async userinfo(@Req() req: object) {
    const res = await this.tokens.fetch(req, userinfoUrl);
    return { status: res.status };
  }
}

async function clientKeys(): Promise<{ privateJwk: JWK; publicJwk: JWK }> {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  const kid = 'fapi-client-key';
  return {
    privateJwk: { ...(await exportJWK(privateKey)), kid, alg: 'ES256' },
    publicJwk: { ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' },
  };
}

describe.each(PLATFORMS)('FAPI 2.0 Security Profile (%s)', (platform) => {
  let op: TestOp;
  let t: TestApp;
  let keys: { privateJwk: JWK; publicJwk: JWK };
  let jwksServer: Server;

  beforeAll(async () => {
    keys = await clientKeys();
    jwksServer = createServer((_req, res) => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ keys: [keys.publicJwk] }));
    });
    await new Promise<void>((resolve) => jwksServer.listen(0, '127.0.0.1', resolve));
    const jwksUrl = `http://127.0.0.1:${(jwksServer.address() as AddressInfo).port}/jwks`;
    const port = await getFreePort();
    const { client_secret: _secret, ...base } = webClient(`http://127.0.0.1:${port}`);
    op = await startTestOp({
      clients: [
        {
          ...base,
          token_endpoint_auth_method: 'private_key_jwt',
          token_endpoint_auth_signing_alg: 'ES256',
          // Published at a URL rather than inline: oidc-provider accepts only plain objects of its own realm
          // (`constructor === Object`), which objects built in the test's module context are not.
          jwks_uri: jwksUrl,
          id_token_signed_response_alg: 'ES256',
          require_pushed_authorization_requests: true,
          dpop_bound_access_tokens: true,
        },
      ],
      configuration: {
        features: {
          fapi: { enabled: true, profile: '2.0' },
          pushedAuthorizationRequests: { enabled: true, requirePushedAuthorizationRequests: true },
          dPoP: { enabled: true },
        },
      },
    });
    userinfoUrl = `${op.issuer}/me`;
    t = await startTestApp({
      platform,
      port,
      options: { issuer: op.issuer, clientId: TEST_CLIENT_ID, profile: 'fapi2', clientPrivateKey: keys.privateJwk },
      controllers: [ProfileController, CallsController],
    });
  });

  afterAll(async () => {
    await t?.close();
    await op?.close();
    await new Promise((resolve) => jwksServer?.close(resolve));
  });

  it('logs in through PAR with private_key_jwt; the tokens are DPoP-bound and work through tokens.fetch()', async () => {
    userinfoUrl = `${op.issuer}/me`;
    const browser = new Browser();
    const pushed = op.count('/request', 'POST');
    const callback = await loginThroughApp(browser, t.baseUrl, 'fapi-user');
    expect(callback.status).toBe(302);
    // §5.3.3.4: the authorization request went by PAR; the browser only carried its request_uri.
    expect(op.count('/request', 'POST')).toBe(pushed + 1);
    const authorization = op.requests.filter((r) => r.path === '/auth').at(-1)!;
    const query = new URL(authorization.url, op.issuer).searchParams;
    expect(query.get('request_uri')).toMatch(/^urn:ietf:params:oauth:request_uri:/);
    expect(query.has('code_challenge')).toBe(false);
    expect((await browser.get(`${t.baseUrl}/profile`)).status).toBe(200);
    expect(JSON.parse((await browser.get(`${t.baseUrl}/calls/userinfo`)).body)).toEqual({ status: 200 });
  });
});

describe('FAPI 2.0: every weakening option fails the bootstrap, naming it', () => {
  const base = async (): Promise<OidcModuleOptions> => ({
    issuer: 'http://127.0.0.1:9/op',
    clientId: 'fapi-client',
    profile: 'fapi2',
    clientPrivateKey: (await clientKeys()).privateJwk,
  });

  it.each<[string, Partial<OidcModuleOptions>]>([
    ['clientAuthMethod', { clientAuthMethod: 'client_secret_basic', clientSecret: 's'.repeat(32) }],
    ['clientSecret', { clientSecret: 's'.repeat(32) }],
    ['pushedAuthorizationRequests', { pushedAuthorizationRequests: false }],
    ['dpop', { dpop: false }],
    ['allowInsecureRequests', { allowInsecureRequests: true }],
    ['idTokenSigningAlg', { idTokenSigningAlg: 'RS256' }],
    ['authorizationParams.response_mode', { authorizationParams: { response_mode: 'form_post' } }],
  ])('%s', async (path, weakening) => {
    const start = startTestApp({ platform: 'express', options: { ...(await base()), ...weakening } });
    await expect(start).rejects.toMatchObject({ code: 'ERR_OIDC_INVALID_OPTIONS', message: expect.stringContaining(`\`${path}\``) });
  });
});
