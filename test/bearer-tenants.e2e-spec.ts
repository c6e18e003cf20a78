/**
 * Per-request trusted issuers (`bearer.issuers` as a resolver) and per-issuer identity claims, with two
 * local OPs as tenants A and B. The resolver picks the tenant from an `x-tenant` header, the way a
 * multi-tenant API maps a host name or path to its customer's OP. A token must come from the issuer of
 * the request's own tenant, and another tenant's OP is never contacted on that request. Over Express
 * and Fastify.
 */
import { randomUUID } from 'node:crypto';
import { Controller, Get, UseGuards } from '@nestjs/common';
import { CurrentUser, OidcGuard, type OidcIssuerResolver, type OidcUser } from '../lib/index.js';
import { PLATFORMS, startTestApp, type TestApp } from './fixtures/app.fixture.js';
import { DEFAULT_HOSTILE_CLIENT, startHostileOp, type HostileOp } from './fixtures/hostile-op.fixture.js';

const API = 'https://api.tenants.test';
const DISCOVERY = '/.well-known/openid-configuration';

@Controller('tenant')
@UseGuards(OidcGuard)
class TenantController {
  @Get('me')
  me(@CurrentUser() user: OidcUser) {
    return { sub: user.sub, issuer: user.issuer, identity: user.identity ?? null, claims: user.claims };
  }
}

async function get(url: string, headers: Record<string, string>) {
  const res = await fetch(url, { headers });
  return { status: res.status, challenge: res.headers.get('www-authenticate') ?? '', body: await res.text() };
}

describe.each(PLATFORMS)('bearer.issuers resolver: tenants A and B (%s)', (platform) => {
  let a: HostileOp;
  let b: HostileOp;
  let t: TestApp;

  /** Tenant B signs with its own key (the fixture's keys are shared per process; B publishes only `other`). */
  async function mint(op: HostileOp, overrides: Record<string, unknown> = {}, key = op === b ? b.keys.other : op.keys.rs256) {
    const now = Math.floor(Date.now() / 1000);
    return op.sign(
      {
        iss: op.issuer,
        aud: API,
        sub: 'user-1',
        client_id: 'svc',
        jti: randomUUID(),
        iat: now,
        exp: now + 300,
        scope: 'api:read',
        ...overrides,
      },
      { key, header: { typ: 'at+jwt' } },
    );
  }

  beforeAll(async () => {
    a = await startHostileOp();
    b = await startHostileOp();
    b.jwks = { keys: [b.keys.other.publicJwk] };
    const tenants = new Map([
      ['a', a.issuer],
      ['b', b.issuer],
    ]);
    // The resolver maps the request to its tenant's issuer from a fixed table; unknown tenants trust nobody.
    const issuers: OidcIssuerResolver = (req) => {
      const tenant = (req as { headers: Record<string, string | string[] | undefined> }).headers['x-tenant'];
      const issuer = typeof tenant === 'string' ? tenants.get(tenant) : undefined;
      return issuer ? [issuer] : [];
    };
    t = await startTestApp({
      platform,
      controllers: [TenantController],
      options: {
        issuer: a.issuer,
        clientId: DEFAULT_HOSTILE_CLIENT.clientId,
        clientSecret: DEFAULT_HOSTILE_CLIENT.clientSecret,
        bearer: { audience: API, issuers, identityClaims: { [a.issuer]: 'email', [b.issuer]: 'email' } },
      },
    });
  });

  afterAll(async () => {
    await t?.close();
    await a?.close();
    await b?.close();
  });

  it("refuses tenant B's token on a tenant-A request with 401, and B's OP is never contacted", async () => {
    b.clearRequests();
    const res = await get(`${t.baseUrl}/tenant/me`, { authorization: `Bearer ${await mint(b)}`, 'x-tenant': 'a' });
    expect(res.status).toBe(401);
    expect(res.challenge).toMatch(
      /^Bearer realm="[^"]+", error="invalid_token", error_description="The access token issuer is not trusted\."/,
    );
    expect(b.count('/jwks')).toBe(0);
    expect(b.count(DISCOVERY)).toBe(0);
    expect(b.requests).toHaveLength(0);
  });

  it('accepts each tenant token on its own tenant, with identity from bearer.identityClaims', async () => {
    const fromA = await get(`${t.baseUrl}/tenant/me`, {
      authorization: `Bearer ${await mint(a, { email: 'alice@a.example' })}`,
      'x-tenant': 'a',
    });
    expect(fromA.status).toBe(200);
    expect(JSON.parse(fromA.body)).toMatchObject({ sub: 'user-1', issuer: a.issuer, identity: 'alice@a.example' });

    // Dex-style federated token: the connector is part of the identity
    const dex = await mint(b, { email: 'alice@a.example', federated_claims: { connector_id: 'github', user_id: '4242' } });
    const fromB = await get(`${t.baseUrl}/tenant/me`, { authorization: `Bearer ${dex}`, 'x-tenant': 'b' });
    expect(fromB.status).toBe(200);
    const body = JSON.parse(fromB.body);
    expect(body).toMatchObject({ issuer: b.issuer, identity: 'github:alice@a.example' });
    expect(body.claims.federated_claims).toEqual({ connector_id: 'github', user_id: '4242' });
    expect(b.count(DISCOVERY)).toBe(1);
    expect(b.count('/jwks')).toBe(1);
  });

  it('refuses a token verified (and cached) for tenant B on a request of tenant A or of no tenant', async () => {
    const token = await mint(b);
    expect((await get(`${t.baseUrl}/tenant/me`, { authorization: `Bearer ${token}`, 'x-tenant': 'b' })).status).toBe(200);
    expect((await get(`${t.baseUrl}/tenant/me`, { authorization: `Bearer ${token}`, 'x-tenant': 'a' })).status).toBe(401);
    expect((await get(`${t.baseUrl}/tenant/me`, { authorization: `Bearer ${token}` })).status).toBe(401);
    expect((await get(`${t.baseUrl}/tenant/me`, { authorization: `Bearer ${token}`, 'x-tenant': 'constructor' })).status).toBe(401);
  });

  it("refuses a token naming tenant A's issuer but signed with tenant B's key", async () => {
    const forged = await mint(b, { iss: a.issuer });
    const res = await get(`${t.baseUrl}/tenant/me`, { authorization: `Bearer ${forged}`, 'x-tenant': 'a' });
    expect(res.status).toBe(401);
    expect(res.challenge).toContain('error="invalid_token"');
  });

  it('has no identity for a token without the configured claim', async () => {
    const res = await get(`${t.baseUrl}/tenant/me`, { authorization: `Bearer ${await mint(a)}`, 'x-tenant': 'a' });
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body).identity).toBeNull();
  });
});
