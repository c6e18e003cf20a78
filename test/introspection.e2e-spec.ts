/**
 * Opaque access tokens by introspection (RFC 7662) against the real OP. oidc-provider gives a code-flow
 * login without `resource` an opaque access token (only API_RESOURCE gets JWTs), which is what an API with
 * `bearer.introspection: true` must accept by asking the OP's `/token/introspection` — once per token,
 * cached, refusals cached briefly, and 503 while the OP cannot be asked. Over Express and Fastify.
 */
import { randomUUID } from 'node:crypto';
import { request as httpRequest, type OutgoingHttpHeaders } from 'node:http';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import {
  clientCredentialsGrant,
  getDPoPHandle,
  tokenIntrospection,
  tokenRevocation,
  type Configuration as RpConfiguration,
} from 'openid-client';
import { accessTokenHash } from '../lib/bearer/dpop.verifier.js';
import { INTROSPECTION_REFUSAL_TTL } from '../lib/bearer/token-introspector.js';
import { PLATFORMS, type TestApp } from './fixtures/app.fixture.js';
import { startOpAndApp, type OpAndApp } from './fixtures/op-app.fixture.js';
import { loginAtOp } from './fixtures/login.js';
import { API_RESOURCE, OP_PATHS, startTestOp, TEST_CLIENT_ID, webClient, type TestOp } from './fixtures/op.fixture.js';

interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function send(url: string, headers: OutgoingHttpHeaders = {}): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end();
  });
}

const introspections = (op: TestOp) => op.count(OP_PATHS.introspection, 'POST');
const challengeOf = (res: RawResponse) => String(res.headers['www-authenticate'] ?? '');

describe.each(PLATFORMS)('opaque access tokens by introspection against oidc-provider (%s)', (platform) => {
  let op: TestOp;
  let t: TestApp;
  let rp: RpConfiguration;

  let fixture: OpAndApp;

  beforeAll(async () => {
    fixture = await startOpAndApp(platform, { bearer: { audience: API_RESOURCE, introspection: true } });
    ({ op, t, rp } = fixture);
  });

  afterAll(async () => {
    await fixture?.close();
  });

  afterEach(() => {
    t.clock.offsetMs = 0;
  });

  it('accepts the opaque access token of a login: the OidcUser comes from the introspection response, asked once', async () => {
    const tokens = await loginAtOp(rp, t.baseUrl, 'alice');
    expect(tokens.access_token).not.toContain('.');
    const before = introspections(op);

    const res = await send(`${t.baseUrl}/profile`, { authorization: `Bearer ${tokens.access_token}` });
    expect(res.status).toBe(200);
    expect(res.headers['cache-control']).toBe('no-store');
    const body = JSON.parse(res.body);
    expect(body).toMatchObject({ sub: 'alice', authMethod: 'bearer' });
    expect(body.claims).toMatchObject({ iss: op.issuer, client_id: TEST_CLIENT_ID, token_type: 'Bearer' });
    expect(body.claims).not.toHaveProperty('active');
    expect(body.scopes).toEqual(expect.arrayContaining(['openid', 'email']));

    expect((await send(`${t.baseUrl}/profile`, { authorization: `Bearer ${tokens.access_token}` })).status).toBe(200);
    expect(introspections(op)).toBe(before + 1);
  });

  it('sends one introspection request for 10 concurrent requests carrying the same new token (single flight)', async () => {
    const tokens = await loginAtOp(rp, t.baseUrl, 'bob');
    const before = introspections(op);
    const responses = await Promise.all(
      Array.from({ length: 10 }, () => send(`${t.baseUrl}/profile`, { authorization: `Bearer ${tokens.access_token}` })),
    );
    expect(responses.map((r) => r.status)).toEqual(Array(10).fill(200));
    expect(responses.every((r) => JSON.parse(r.body).sub === 'bob')).toBe(true);
    expect(introspections(op)).toBe(before + 1);
  });

  it('refuses a token the OP reports inactive with 401 invalid_token, and asks again only after 30 s', async () => {
    const unknown = `opaque-${randomUUID()}`;
    const before = introspections(op);
    const responses = await Promise.all(
      Array.from({ length: 10 }, () => send(`${t.baseUrl}/profile`, { authorization: `Bearer ${unknown}` })),
    );
    for (const res of responses) {
      expect(res.status).toBe(401);
      expect(challengeOf(res)).toMatch(/^Bearer realm="[^"]+", error="invalid_token", error_description="[^"]+"/);
      expect(res.body).not.toContain(unknown);
    }
    expect((await send(`${t.baseUrl}/profile`, { authorization: `Bearer ${unknown}` })).status).toBe(401);
    expect(introspections(op)).toBe(before + 1);
    t.clock.advance(INTROSPECTION_REFUSAL_TTL + 1);
    expect((await send(`${t.baseUrl}/profile`, { authorization: `Bearer ${unknown}` })).status).toBe(401);
    expect(introspections(op)).toBe(before + 2);
  });

  it('refuses a revoked token once the cached answer has expired (bearer.cache.introspectionTtl, 60 s)', async () => {
    const tokens = await loginAtOp(rp, t.baseUrl, 'carol');
    const auth = { authorization: `Bearer ${tokens.access_token}` };
    expect((await send(`${t.baseUrl}/profile`, auth)).status).toBe(200);
    await tokenRevocation(rp, tokens.access_token, { token_type_hint: 'access_token' });
    expect(op.count(OP_PATHS.revocation, 'POST')).toBeGreaterThan(0);
    // within the TTL the cached answer stands (the documented revocation latency)
    t.clock.advance(30);
    expect((await send(`${t.baseUrl}/profile`, auth)).status).toBe(200);
    const before = introspections(op);
    t.clock.advance(31);
    const res = await send(`${t.baseUrl}/profile`, auth);
    expect(res.status).toBe(401);
    expect(challengeOf(res)).toContain('error="invalid_token"');
    expect(introspections(op)).toBe(before + 1);
  });

  it('refuses a refresh token presented as an access token (RFC 8725 §2.8: the OP gives it no token_type)', async () => {
    const tokens = await loginAtOp(rp, t.baseUrl, 'dave');
    // control: the OP does report the refresh token active, without a token_type
    const info = await tokenIntrospection(rp, tokens.refresh_token!);
    expect(info).toMatchObject({ active: true, sub: 'dave' });
    expect(info.token_type).toBeUndefined();
    const res = await send(`${t.baseUrl}/profile`, { authorization: `Bearer ${tokens.refresh_token}` });
    expect(res.status).toBe(401);
    expect(challengeOf(res)).toContain('error="invalid_token"');
  });

  it('verifies a JWT access token locally: no introspection request', async () => {
    const jwt = (await clientCredentialsGrant(rp, { resource: API_RESOURCE, scope: 'api:read' })).access_token;
    expect(jwt.split('.')).toHaveLength(3);
    const before = introspections(op);
    expect((await send(`${t.baseUrl}/profile`, { authorization: `Bearer ${jwt}` })).status).toBe(200);
    const [h, p] = jwt.split('.');
    expect((await send(`${t.baseUrl}/profile`, { authorization: `Bearer ${h}.${p}.${'A'.repeat(342)}` })).status).toBe(401);
    expect(introspections(op)).toBe(before);
  });

  it('accepts a DPoP-bound opaque token with its proof (cnf.jkt from introspection) and refuses it as Bearer', async () => {
    const keyPair = await generateKeyPair('ES256', { extractable: true });
    const tokens = await loginAtOp(rp, t.baseUrl, 'erin', getDPoPHandle(rp, keyPair));
    expect(tokens.token_type.toLowerCase()).toBe('dpop');
    const url = `${t.baseUrl}/profile`;
    const proof = await new SignJWT({
      jti: randomUUID(),
      htm: 'GET',
      htu: url,
      iat: Math.floor(Date.now() / 1000),
      ath: accessTokenHash(tokens.access_token),
    })
      .setProtectedHeader({ typ: 'dpop+jwt', alg: 'ES256', jwk: await exportJWK(keyPair.publicKey) })
      .sign(keyPair.privateKey);
    const res = await send(url, { authorization: `DPoP ${tokens.access_token}`, dpop: proof });
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body)).toMatchObject({
      sub: 'erin',
      authMethod: 'dpop',
      claims: { token_type: 'DPoP', cnf: { jkt: expect.any(String) } },
    });
    // RFC 9449 §7.2: no downgrade to Bearer
    expect((await send(url, { authorization: `Bearer ${tokens.access_token}` })).status).toBe(401);
  });

  it('answers 503 while the OP cannot be reached, caching nothing', async () => {
    const tokens = await loginAtOp(rp, t.baseUrl, 'frank');
    const port = Number(new URL(op.issuer).port);
    await op.close();
    const res = await send(`${t.baseUrl}/profile`, { authorization: `Bearer ${tokens.access_token}` });
    expect(res.status).toBe(503);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.body).not.toContain(tokens.access_token);
    // the OP is back (with an empty store, so the token is unknown): asked again at once, 401
    op = await startTestOp({ clients: [webClient(t.baseUrl)], port });
    expect((await send(`${t.baseUrl}/profile`, { authorization: `Bearer ${tokens.access_token}` })).status).toBe(401);
    expect(introspections(op)).toBe(1);
  });
});

describe('opaque access tokens with introspection off (express)', () => {
  let op: TestOp;
  let t: TestApp;
  let rp: RpConfiguration;

  let fixture: OpAndApp;

  beforeAll(async () => {
    fixture = await startOpAndApp('express', { bearer: { audience: API_RESOURCE } });
    ({ op, t, rp } = fixture);
  });

  afterAll(async () => {
    await fixture?.close();
  });

  it('refuses a genuine opaque token with 401 invalid_token and never asks the OP', async () => {
    const tokens = await loginAtOp(rp, t.baseUrl, 'alice');
    const res = await send(`${t.baseUrl}/profile`, { authorization: `Bearer ${tokens.access_token}` });
    expect(res.status).toBe(401);
    expect(challengeOf(res)).toContain('error="invalid_token"');
    expect(introspections(op)).toBe(0);
  });
});
