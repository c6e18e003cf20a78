/**
 * Provider recipes, proven: each case is the README's "Providers" configuration for that OP, fed the access
 * tokens that OP really issues — header `typ`, `iss` with or without a slash, `aud`/`azp`, `scope` vs `scp`
 * (string or array), roles in `realm_access`/`resource_access`/`roles`/`groups`/`permissions`/namespaced claims,
 * Dex's `federated_claims` — and asserting the `OidcUser` each one produces, plus the refusals that matter
 * (another client's token, a wrong audience, an expired token). A local issuer (discovery + JWKS, the hostile
 * OP fixture) signs them; the shapes follow each provider's documentation and real tokens.
 */
import { randomUUID } from 'node:crypto';
import { Controller, Get, Module, UseGuards, type INestApplication } from '@nestjs/common';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { ExpressAdapter } from '@nestjs/platform-express';
import { Test } from '@nestjs/testing';
import { CurrentUser, OidcGuard, OidcModule, type OidcModuleOptions, type OidcUser } from '../lib/index.js';
import { PLATFORMS } from './fixtures/app.fixture.js';
import { CapturingLogger } from './fixtures/capturing-logger.js';
import { startHostileOp, type HostileOp } from './fixtures/hostile-op.fixture.js';
import { getFreePort } from './fixtures/ports.js';

@Controller('api')
@UseGuards(OidcGuard)
class ApiController {
  @Get('me')
  me(@CurrentUser() user: OidcUser) {
    return {
      sub: user.sub,
      issuer: user.issuer,
      authMethod: user.authMethod,
      scopes: user.scopes,
      roles: user.roles,
      identity: user.identity ?? null,
    };
  }
}

interface ProviderCase {
  name: string;
  /** the `iss` the provider puts in its tokens, below the local issuer (`{op}` is its origin) */
  iss: string;
  /** the trusted issuer URL, when `iss` is an alias (Google's `accounts.google.com`) */
  canonical?: string;
  header?: Record<string, unknown>;
  claims: Record<string, unknown>;
  /** the recipe: OidcModule options for an API behind this provider */
  options: Partial<OidcModuleOptions> & { bearer: NonNullable<OidcModuleOptions['bearer']> };
  expected: { sub: string; scopes: string[]; roles: string[]; identity?: string | null };
  /** claims that turn the token into one this API must refuse, with why */
  refusals: Array<[string, Record<string, unknown>]>;
}

const now = () => Math.floor(Date.now() / 1000);

function cases(op: string): ProviderCase[] {
  return [
    {
      // Keycloak 26: header typ "JWT"; iss without slash; aud "account" shared by the realm's clients, so the
      // API pins azp; client roles under resource_access.<client id> — client ids often contain dots.
      name: 'Keycloak',
      iss: `${op}/realms/demo`,
      header: { typ: 'JWT' },
      claims: {
        aud: 'account',
        azp: 'web-app',
        typ: 'Bearer',
        scope: 'openid profile orders:read',
        sid: randomUUID(),
        realm_access: { roles: ['offline_access', 'user'] },
        resource_access: { 'orders.api': { roles: ['orders-admin'] }, account: { roles: ['manage-account'] } },
        preferred_username: 'alice',
      },
      options: {
        bearer: { audience: 'account', authorizedParties: ['web-app'], issuers: [`${op}/realms/demo`] },
        roles: { claim: ['resource_access', 'orders.api', 'roles'] },
      },
      expected: { sub: 'kc-user-1', scopes: ['openid', 'profile', 'orders:read'], roles: ['orders-admin'] },
      refusals: [
        ['a token another client of the realm got (azp)', { azp: 'some-other-client' }],
        ['an expired token', { exp: now() - 3600, iat: now() - 7200 }],
      ],
    },
    {
      // Auth0: iss ends in "/"; aud is [API identifier, <tenant>/userinfo]; RBAC permissions; roles through a
      // namespaced custom claim; header typ "at+jwt" (RFC 9068 profile).
      name: 'Auth0',
      iss: `${op}/tenant/`,
      header: { typ: 'at+jwt' },
      claims: {
        aud: ['https://orders.example.com', `${op}/tenant/userinfo`],
        azp: 'spa-client-id',
        client_id: 'spa-client-id',
        jti: randomUUID(),
        scope: 'openid profile read:orders',
        permissions: ['read:orders'],
        'https://example.com/roles': ['admin'],
      },
      options: {
        bearer: { audience: 'https://orders.example.com', issuers: [`${op}/tenant/`] },
        roles: { claim: 'https://example.com/roles' },
      },
      expected: { sub: 'auth0|64f1c2', scopes: ['openid', 'profile', 'read:orders'], roles: ['admin'] },
      refusals: [['a token for another API (aud)', { aud: ['https://billing.example.com', `${op}/tenant/userinfo`] }]],
    },
    {
      // Microsoft Entra ID, v2.0 tokens (API manifest accessTokenAcceptedVersion: 2): iss .../<tid>/v2.0, aud the
      // API's client id, delegated scopes in `scp` (space-separated string), app roles in `roles`.
      name: 'Entra ID v2',
      iss: `${op}/9188040d-6c67-4c5b-b112-36a304b66dad/v2.0`,
      header: { typ: 'JWT' },
      claims: {
        aud: '6e74172b-be56-4843-9ff4-e66a39bb12e3',
        azp: 'c44b4083-3bb0-49c1-b47d-974e53cbdf3c',
        ver: '2.0',
        tid: '9188040d-6c67-4c5b-b112-36a304b66dad',
        oid: '00000000-0000-0000-66f3-3332eca7ea81',
        scp: 'Orders.Read Orders.Write',
        roles: ['Orders.Admin'],
      },
      options: {
        bearer: { audience: '6e74172b-be56-4843-9ff4-e66a39bb12e3', issuers: [`${op}/9188040d-6c67-4c5b-b112-36a304b66dad/v2.0`] },
        roles: { claim: 'roles' },
      },
      expected: { sub: 'AAAAAAAAAAAAAAAAAAAAAIkzqFVrSaSaFHy782bbtaQ', scopes: ['Orders.Read', 'Orders.Write'], roles: ['Orders.Admin'] },
      refusals: [['a v1 token for the same API (other iss)', { iss: `${op}/sts/9188040d-6c67-4c5b-b112-36a304b66dad/` }]],
    },
    {
      // Microsoft Entra ID, v1.0 tokens (the default for an API): iss https://sts.windows.net/<tid>/ (trailing
      // slash), aud the Application ID URI, `appid` instead of `azp`.
      name: 'Entra ID v1',
      iss: `${op}/sts/9188040d-6c67-4c5b-b112-36a304b66dad/`,
      header: { typ: 'JWT' },
      claims: {
        aud: 'api://orders',
        appid: 'c44b4083-3bb0-49c1-b47d-974e53cbdf3c',
        ver: '1.0',
        scp: 'Orders.Read',
        roles: ['Orders.Reader'],
      },
      options: {
        bearer: { audience: 'api://orders', issuers: [`${op}/sts/9188040d-6c67-4c5b-b112-36a304b66dad/`] },
        roles: { claim: 'roles' },
      },
      expected: { sub: 'l3_roISQU222bULS9yi2k0XpqpOiMz5H3ZACo1GeXA', scopes: ['Orders.Read'], roles: ['Orders.Reader'] },
      refusals: [['a token for Microsoft Graph (aud)', { aud: '00000003-0000-0000-c000-000000000000' }]],
    },
    {
      // Okta custom authorization server: iss .../oauth2/default, aud api://default, `scp` is an ARRAY, `cid`.
      name: 'Okta',
      iss: `${op}/oauth2/default`,
      claims: {
        aud: 'api://default',
        cid: '0oa1abcd',
        uid: '00u1abcd',
        scp: ['openid', 'orders:read'],
        groups: ['Everyone', 'Admins'],
        ver: 1,
      },
      options: {
        bearer: { audience: 'api://default', issuers: [`${op}/oauth2/default`], identityClaims: { [`${op}/oauth2/default`]: 'uid' } },
        roles: { claim: 'groups' },
      },
      expected: { sub: 'alice@example.com', scopes: ['openid', 'orders:read'], roles: ['Everyone', 'Admins'], identity: '00u1abcd' },
      refusals: [['an expired token', { exp: now() - 600 }]],
    },
    {
      // Google: ID tokens used as bearer tokens between services; `iss` is sometimes "accounts.google.com"
      // (no scheme), aliased to the issuer URL whose keys verify it.
      name: 'Google',
      iss: 'accounts.google.com',
      canonical: `${op}/google`,
      claims: {
        aud: '1234-api.apps.googleusercontent.com',
        azp: '1234-web.apps.googleusercontent.com',
        email: 'alice@example.com',
        email_verified: true,
      },
      options: {
        bearer: {
          audience: '1234-api.apps.googleusercontent.com',
          issuers: [`${op}/google`],
          issuerAliases: { 'accounts.google.com': `${op}/google` },
          identityClaims: { [`${op}/google`]: 'email' },
        },
      },
      expected: { sub: '110169484474386276334', scopes: [], roles: [], identity: 'alice@example.com' },
      refusals: [['a token for another client (aud)', { aud: '5678-other.apps.googleusercontent.com' }]],
    },
    {
      // authentik: iss https://<host>/application/o/<slug>/ (trailing slash), aud the provider's client id.
      name: 'authentik',
      iss: `${op}/application/o/orders/`,
      claims: { aud: 'orders-client-id', azp: 'orders-client-id', scope: 'openid email', groups: ['authentik Admins'] },
      options: { bearer: { audience: 'orders-client-id', issuers: [`${op}/application/o/orders/`] }, roles: { claim: 'groups' } },
      expected: { sub: 'a3f4c1d2e5', scopes: ['openid', 'email'], roles: ['authentik Admins'] },
      refusals: [['a wrong audience', { aud: 'other-client' }]],
    },
    {
      // Dex: access tokens are ID tokens (at_hash, aud = the client the token was asked for). The API has its own
      // client id, so a token addressed to it (cross-client audience) is not "this app's ID token".
      name: 'Dex',
      iss: `${op}/dex`,
      claims: {
        aud: 'orders-api',
        azp: 'web',
        at_hash: 'HK6E_P6Dh8Y93mRNtsDB1Q',
        email: 'alice@example.com',
        email_verified: true,
        federated_claims: { connector_id: 'github', user_id: '1234' },
      },
      options: {
        clientId: 'orders-backend',
        bearer: { audience: 'orders-api', issuers: [`${op}/dex`], identityClaims: { [`${op}/dex`]: 'email' } },
      },
      expected: { sub: 'CgQxMjM0EgZnaXRodWI', scopes: [], roles: [], identity: 'github:alice@example.com' },
      refusals: [
        [
          "this app's own ID token (aud = its client id, azp = its client id)",
          { aud: ['orders-api', 'orders-backend'], azp: 'orders-backend' },
        ],
      ],
    },
    {
      // LemonLDAP::NG: JWT access tokens (when enabled) typed at+jwt, iss without slash, scope string.
      name: 'LemonLDAP::NG',
      iss: `${op}/llng`,
      header: { typ: 'at+jwt' },
      claims: { aud: 'orders-rp', client_id: 'orders-rp', jti: randomUUID(), scope: 'openid orders' },
      options: { bearer: { audience: 'orders-rp', issuers: [`${op}/llng`] } },
      expected: { sub: 'dwho', scopes: ['openid', 'orders'], roles: [] },
      refusals: [['a wrong audience', { aud: 'other-rp', client_id: 'other-rp' }]],
    },
    {
      // GitHub Actions OIDC tokens as bearer tokens for a deployment API: aud is what the workflow asked for,
      // sub names the repository and ref; the identity is the sub.
      name: 'GitHub Actions',
      iss: `${op}/gha`,
      header: { typ: 'JWT', x5t: 'ykNaY4qM_ta4k2TgZOCEYLkcYlA' },
      claims: {
        aud: 'https://github.com/acme',
        repository: 'acme/deploy',
        ref: 'refs/heads/main',
        job_workflow_ref: 'acme/deploy/.github/workflows/ship.yml@refs/heads/main',
        repository_owner: 'acme',
        runner_environment: 'github-hosted',
      },
      options: { bearer: { audience: 'https://github.com/acme', issuers: [`${op}/gha`], identityClaims: { [`${op}/gha`]: 'sub' } } },
      expected: { sub: 'repo:acme/deploy:ref:refs/heads/main', scopes: [], roles: [], identity: 'repo:acme/deploy:ref:refs/heads/main' },
      refusals: [['a token minted for another owner (aud)', { aud: 'https://github.com/evil' }]],
    },
  ];
}

let hop: HostileOp;
/** discovery documents served for each provider issuer, by well-known path */
const documents = new Map<string, Record<string, unknown>>();

beforeAll(async () => {
  hop = await startHostileOp();
  for (const c of cases(hop.issuer)) {
    const issuer = c.canonical ?? c.iss;
    const path = `${new URL(issuer).pathname.replace(/\/$/, '')}/.well-known/openid-configuration`;
    documents.set(path, { issuer, jwks_uri: `${hop.issuer}/jwks`, id_token_signing_alg_values_supported: ['RS256'] });
  }
  hop.behaviour.override = (req) => {
    const doc = documents.get(req.path);
    return doc ? { status: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify(doc) } : undefined;
  };
});
afterAll(async () => {
  await hop?.close();
});

async function startApi(
  platform: string,
  options: ProviderCase['options'],
  logger?: CapturingLogger,
): Promise<{ app: INestApplication; url: string }> {
  @Module({
    imports: [OidcModule.forRoot({ issuer: hop.issuer, clientId: 'orders-api-client', ...options, routes: false })],
    controllers: [ApiController],
  })
  class ApiModule {}
  const moduleRef = await Test.createTestingModule({ imports: [ApiModule] }).compile();
  const app = moduleRef.createNestApplication(platform === 'fastify' ? new FastifyAdapter() : new ExpressAdapter(), {
    logger: logger ?? false,
  });
  const port = await getFreePort();
  await app.listen(port, '127.0.0.1');
  return { app, url: `http://127.0.0.1:${port}` };
}

async function token(c: ProviderCase, overrides: Record<string, unknown> = {}): Promise<string> {
  const claims: Record<string, unknown> = { iss: c.iss, sub: c.expected.sub, iat: now(), exp: now() + 600, ...c.claims, ...overrides };
  return hop.sign(claims, { header: c.header });
}

describe.each(PLATFORMS)('provider recipes (%s)', (platform) => {
  describe.each(cases('http://op.placeholder').map((c) => [c.name]))('%s', (name) => {
    let api: { app: INestApplication; url: string };
    let c: ProviderCase;

    beforeAll(async () => {
      c = cases(hop.issuer).find((x) => x.name === name)!;
      api = await startApi(platform, c.options);
    });
    afterAll(async () => {
      await api?.app.close();
    });

    it('accepts its real token shape and builds the OidcUser (sub, issuer, scopes, roles, identity)', async () => {
      const res = await fetch(`${api.url}/api/me`, { headers: { authorization: `Bearer ${await token(c)}` } });
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({
        sub: c.expected.sub,
        issuer: c.canonical ?? c.iss,
        authMethod: 'bearer',
        scopes: c.expected.scopes,
        roles: c.expected.roles,
        identity: c.expected.identity ?? null,
      });
    });

    it('refuses what the recipe must refuse (401 invalid_token)', async () => {
      for (const [why, overrides] of c.refusals) {
        const res = await fetch(`${api.url}/api/me`, { headers: { authorization: `Bearer ${await token(c, overrides)}` } });
        expect({ why, status: res.status }).toEqual({ why, status: 401 });
        expect(res.headers.get('www-authenticate')).toContain('error="invalid_token"');
      }
    });
  });

  describe('a pure resource server (routes: false, no session, no baseUrl)', () => {
    it('answers a browser navigation without a token with 401 and a challenge, never a redirect to a login it does not have', async () => {
      const c = cases(hop.issuer).find((x) => x.name === 'Keycloak')!;
      const api = await startApi(platform, c.options);
      try {
        const res = await fetch(`${api.url}/api/me`, { redirect: 'manual', headers: { accept: 'text/html' } });
        expect(res.status).toBe(401);
        expect(res.headers.get('www-authenticate')).toMatch(/^Bearer realm=/);
      } finally {
        await api.app.close();
      }
    });
  });

  describe('refused access tokens are diagnosable (debug log)', () => {
    it('logs the reason with iss, aud, azp, alg, kid, typ and the clock gap — never the token', async () => {
      const c = cases(hop.issuer).find((x) => x.name === 'Keycloak')!;
      const logger = new CapturingLogger();
      const api = await startApi(platform, c.options, logger);
      try {
        const expired = await token(c, { exp: now() - 3605, iat: now() - 7200, aud: 'account' });
        const res = await fetch(`${api.url}/api/me`, { headers: { authorization: `Bearer ${expired}` } });
        expect(res.status).toBe(401);
        const [line] = logger.find(
          'debug',
          'Access token refused',
          `iss "${c.iss}"`,
          'aud "account"',
          'azp "web-app"',
          'alg "RS256"',
          `kid "${hop.keys.rs256.kid}"`,
          'typ "JWT"',
        );
        expect(line).toMatch(/expired 360[5-9] s ago/);
        expect(line).toContain('clockTolerance is 60 s');
        expect(line).not.toContain(expired.split('.')[1]!.slice(0, 30));
      } finally {
        await api.app.close();
      }
    });
  });
});
