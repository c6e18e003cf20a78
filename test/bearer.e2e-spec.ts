/**
 * Bearer and DPoP access tokens against the real OP (oidc-provider issues RFC 9068 JWT access tokens
 * for API_RESOURCE, DPoP-bound with `cnf.jkt` when asked), over Express and Fastify.
 */
import { randomUUID } from 'node:crypto';
import { request as httpRequest, type OutgoingHttpHeaders } from 'node:http';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { clientCredentialsGrant, getDPoPHandle, type Configuration as RpConfiguration } from 'openid-client';
import { accessTokenHash } from '../lib/bearer/dpop.verifier.js';
import { PLATFORMS, type TestApp } from './fixtures/app.fixture.js';
import { startOpAndApp, type OpAndApp } from './fixtures/op-app.fixture.js';
import { API_RESOURCE, TEST_CLIENT_ID, type TestOp } from './fixtures/op.fixture.js';

interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** node:http rather than fetch: repeated headers stay separate lines and `Host` can be forged. */
function send(url: string, headers: OutgoingHttpHeaders = {}, method = 'GET', body?: string): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const challengeOf = (res: RawResponse) => String(res.headers['www-authenticate'] ?? '');

describe.each(PLATFORMS)('Bearer and DPoP access tokens against oidc-provider (%s)', (platform) => {
  let op: TestOp;
  let t: TestApp;
  let rp: RpConfiguration;
  let accessToken: string;

  let fixture: OpAndApp;

  beforeAll(async () => {
    fixture = await startOpAndApp(platform, { bearer: { audience: API_RESOURCE } });
    ({ op, t, rp } = fixture);
    accessToken = (await clientCredentialsGrant(rp, { resource: API_RESOURCE, scope: 'api:read' })).access_token;
  });

  afterAll(async () => {
    await fixture?.close();
  });

  describe('BR-01 a valid RFC 9068 token', () => {
    it.each(['Bearer', 'bearer', 'BEARER'])('is accepted with the scheme %s and its claims reach @CurrentUser', async (scheme) => {
      const res = await send(`${t.baseUrl}/profile`, { authorization: `${scheme} ${accessToken}` });
      expect(res.status).toBe(200);
      expect(res.headers['cache-control']).toBe('no-store');
      const body = JSON.parse(res.body);
      expect(body.authMethod).toBe('bearer');
      expect(body.sub).toBe(TEST_CLIENT_ID);
      expect(body.claims).toMatchObject({ iss: op.issuer, aud: API_RESOURCE, client_id: TEST_CLIENT_ID });
      expect(body.scopes).toEqual(['api:read']);
    });

    it('is accepted on a bearer-only route and fetches the JWKS once', async () => {
      const jwksBefore = op.count('/jwks');
      const res = await send(`${t.baseUrl}/profile/api-only`, { authorization: `Bearer ${accessToken}` });
      expect(res.status).toBe(200);
      const fresh = (await clientCredentialsGrant(rp, { resource: API_RESOURCE, scope: 'api:read' })).access_token;
      expect((await send(`${t.baseUrl}/profile/api-only`, { authorization: `Bearer ${fresh}` })).status).toBe(200);
      expect(op.count('/jwks')).toBeLessThanOrEqual(jwksBefore + 1);
    });
  });

  describe('BR-02 how the credential is sent', () => {
    it('(a) no Authorization header: 401 with Bearer and DPoP challenges and no error code', async () => {
      const res = await send(`${t.baseUrl}/profile/api-only`);
      expect(res.status).toBe(401);
      expect(challengeOf(res)).toMatch(/^Bearer realm="127\.0\.0\.1:\d+", DPoP algs="[^"]*ES256[^"]*"$/);
      expect(challengeOf(res)).not.toContain('error=');
    });

    it.each(['Bearer', 'Bearer a b', 'Basic dXNlcjpwYXNz', 'Bearer "quoted"'])('(b) %j: 400 invalid_request', async (authorization) => {
      const res = await send(`${t.baseUrl}/profile/api-only`, { authorization });
      expect(res.status).toBe(400);
      expect(challengeOf(res)).toMatch(/^Bearer realm="[^"]+", error="invalid_request"/);
      expect(res.body).not.toContain('dXNlcjpwYXNz');
    });

    it('(c, d) a token only in the query or a form body is not accepted', async () => {
      const query = await send(`${t.baseUrl}/profile/api-only?access_token=${accessToken}`);
      expect(query.status).toBe(401);
      const form = await send(
        `${t.baseUrl}/profile/action`,
        { 'content-type': 'application/x-www-form-urlencoded' },
        'POST',
        `access_token=${accessToken}`,
      );
      expect(form.status).toBe(401);
    });

    it('(e) a token in both the header and the query: 400 invalid_request', async () => {
      const res = await send(`${t.baseUrl}/profile/api-only?access_token=${accessToken}`, { authorization: `Bearer ${accessToken}` });
      expect(res.status).toBe(400);
      expect(challengeOf(res)).toContain('error="invalid_request"');
    });
  });

  it('an invalid token gets 401 invalid_token without echoing it; a @Public route stays anonymous', async () => {
    const [h, p] = accessToken.split('.');
    const forged = `${h}.${p}.${'A'.repeat(342)}`;
    const res = await send(`${t.baseUrl}/profile`, { authorization: `Bearer ${forged}` });
    expect(res.status).toBe(401);
    expect(challengeOf(res)).toMatch(/^Bearer realm="[^"]+", error="invalid_token", error_description="[^"]+", DPoP algs="/);
    expect(res.body).not.toContain(h);
    const health = await send(`${t.baseUrl}/profile/health`, { authorization: `Bearer ${forged}` });
    expect(health.status).toBe(200);
    expect(JSON.parse(health.body)).toEqual({ ok: true, user: null });
    expect((await send(`${t.baseUrl}/profile/health`, { authorization: `Bearer ${accessToken}` })).body).toContain(TEST_CLIENT_ID);
  });

  it('BR-16 a token without the route scope: 403 insufficient_scope with the scope', async () => {
    const res = await send(`${t.baseUrl}/profile/orders`, { authorization: `Bearer ${accessToken}` });
    expect(res.status).toBe(403);
    expect(challengeOf(res)).toMatch(/^Bearer realm="[^"]+", error="insufficient_scope", error_description="[^"]+", scope="orders:read"/);
  });

  describe('DPoP (RFC 9449)', () => {
    let keyPair: CryptoKeyPair;
    let bound: string;

    beforeAll(async () => {
      keyPair = await generateKeyPair('ES256', { extractable: true });
      const handle = getDPoPHandle(rp, keyPair);
      const tokens = await clientCredentialsGrant(rp, { resource: API_RESOURCE, scope: 'api:read' }, { DPoP: handle });
      expect(tokens.token_type.toLowerCase()).toBe('dpop');
      bound = tokens.access_token;
    });

    async function proof(htu: string, overrides: Record<string, unknown> = {}, header: Record<string, unknown> = {}, key = keyPair) {
      return new SignJWT({
        jti: randomUUID(),
        htm: 'GET',
        htu,
        iat: Math.floor(Date.now() / 1000),
        ath: accessTokenHash(bound),
        ...overrides,
      })
        .setProtectedHeader({ typ: 'dpop+jwt', alg: 'ES256', jwk: await exportJWK(key.publicKey), ...header } as never)
        .sign(key.privateKey);
    }

    it('DP-01 a bound token with a valid proof: 200, also with extra members and the scheme as DPOP', async () => {
      const url = `${t.baseUrl}/profile`;
      const res = await send(url, { authorization: `DPoP ${bound}`, dpop: await proof(url) });
      expect(res.status).toBe(200);
      const body = JSON.parse(res.body);
      expect(body.authMethod).toBe('dpop');
      expect(body.claims.cnf).toEqual({ jkt: expect.any(String) });

      const extra = await proof(url, { extra_claim: 'x' }, { extra_header: 1 });
      expect((await send(url, { authorization: `DPOP ${bound}`, dpop: extra })).status).toBe(200);
      // RFC 9449 §4.3 check 9: the query is ignored
      expect((await send(`${url}?tab=1`, { authorization: `dpop ${bound}`, dpop: await proof(url) })).status).toBe(200);
    });

    it('DP-02 a bound token sent as Bearer: 401, with or without a proof', async () => {
      const url = `${t.baseUrl}/profile`;
      const plain = await send(url, { authorization: `Bearer ${bound}` });
      expect(plain.status).toBe(401);
      expect(challengeOf(plain)).toContain('error="invalid_token"');
      expect((await send(url, { authorization: `Bearer ${bound}`, dpop: await proof(url) })).status).toBe(401);
    });

    it('DP-03 a missing proof, two proofs, two proofs joined by a comma, an unbound token under DPoP: 401', async () => {
      const url = `${t.baseUrl}/profile`;
      const missing = await send(url, { authorization: `DPoP ${bound}` });
      expect(missing.status).toBe(401);
      expect(challengeOf(missing)).toMatch(/^DPoP error="invalid_dpop_proof", algs="[^"]+", error_description="[^"]+", Bearer realm="/);
      expect((await send(url, { authorization: `DPoP ${bound}`, dpop: [await proof(url), await proof(url)] })).status).toBe(401);
      expect((await send(url, { authorization: `DPoP ${bound}`, dpop: `${await proof(url)}, ${await proof(url)}` })).status).toBe(401);
      const unbound = await send(url, {
        authorization: `DPoP ${accessToken}`,
        dpop: await new SignJWT({
          jti: randomUUID(),
          htm: 'GET',
          htu: url,
          iat: Math.floor(Date.now() / 1000),
          ath: accessTokenHash(accessToken),
        })
          .setProtectedHeader({ typ: 'dpop+jwt', alg: 'ES256', jwk: await exportJWK(keyPair.publicKey) })
          .sign(keyPair.privateKey),
      });
      expect(unbound.status).toBe(401);
      expect(challengeOf(unbound)).toMatch(/^DPoP error="invalid_token"/);
    });

    it('DP-06/07/11 a proof for another method, another URL, a forged Host, or by another key: 401 invalid_dpop_proof / invalid_token', async () => {
      const url = `${t.baseUrl}/profile`;
      const wrongMethod = await send(url, { authorization: `DPoP ${bound}`, dpop: await proof(url, { htm: 'POST' }) });
      expect(wrongMethod.status).toBe(401);
      expect(challengeOf(wrongMethod)).toMatch(/^DPoP error="invalid_dpop_proof", algs="/);
      expect((await send(url, { authorization: `DPoP ${bound}`, dpop: await proof(`${t.baseUrl}/profile/email`) })).status).toBe(401);
      // DP-07 (g): the expected htu comes from the configured baseUrl, never from Host
      const evil = await send(url, {
        host: 'evil.example',
        authorization: `DPoP ${bound}`,
        dpop: await proof('http://evil.example/profile'),
      });
      expect(evil.status).toBe(401);
      const thief = await generateKeyPair('ES256', { extractable: true });
      const stolen = await send(url, { authorization: `DPoP ${bound}`, dpop: await proof(url, {}, {}, thief) });
      expect(stolen.status).toBe(401);
      expect(challengeOf(stolen)).toMatch(/^DPoP error="invalid_token"/);
    });

    it('DP-09 the same proof twice: 200 then 401', async () => {
      const url = `${t.baseUrl}/profile`;
      const once = await proof(url);
      expect((await send(url, { authorization: `DPoP ${bound}`, dpop: once })).status).toBe(200);
      const replay = await send(url, { authorization: `DPoP ${bound}`, dpop: once });
      expect(replay.status).toBe(401);
      expect(challengeOf(replay)).toContain('error="invalid_dpop_proof"');
    });

    it('BR-16 over DPoP: 403 with a DPoP insufficient_scope challenge', async () => {
      const url = `${t.baseUrl}/profile/orders`;
      const res = await send(url, { authorization: `DPoP ${bound}`, dpop: await proof(url) });
      expect(res.status).toBe(403);
      expect(challengeOf(res)).toMatch(/^DPoP error="insufficient_scope", algs="[^"]+", error_description="[^"]+", scope="orders:read"/);
    });
  });
});

describe.each(['required', 'disabled'] as const)("bearer.dpop: '%s' (express)", (dpop) => {
  let t: TestApp;
  let rp: RpConfiguration;

  let fixture: OpAndApp;

  beforeAll(async () => {
    fixture = await startOpAndApp('express', { bearer: { audience: API_RESOURCE, dpop } });
    ({ t, rp } = fixture);
  });

  afterAll(async () => {
    await fixture?.close();
  });

  it('advertises only the accepted scheme and refuses the other', async () => {
    const url = `${t.baseUrl}/profile/api-only`;
    const anonymous = await send(url);
    expect(anonymous.status).toBe(401);
    const plain = (await clientCredentialsGrant(rp, { resource: API_RESOURCE, scope: 'api:read' })).access_token;
    const keyPair = await generateKeyPair('ES256', { extractable: true });
    const bound = (await clientCredentialsGrant(rp, { resource: API_RESOURCE, scope: 'api:read' }, { DPoP: getDPoPHandle(rp, keyPair) }))
      .access_token;
    const proof = await new SignJWT({
      jti: randomUUID(),
      htm: 'GET',
      htu: url,
      iat: Math.floor(Date.now() / 1000),
      ath: accessTokenHash(bound),
    })
      .setProtectedHeader({ typ: 'dpop+jwt', alg: 'ES256', jwk: await exportJWK(keyPair.publicKey) })
      .sign(keyPair.privateKey);

    if (dpop === 'required') {
      expect(challengeOf(anonymous)).toMatch(/^DPoP algs="[^"]+"$/);
      const bearer = await send(url, { authorization: `Bearer ${plain}` });
      expect(bearer.status).toBe(401);
      expect(challengeOf(bearer)).toMatch(/^DPoP error="invalid_token", algs="[^"]+", error_description="[^"]+"$/);
      expect((await send(url, { authorization: `DPoP ${bound}`, dpop: proof })).status).toBe(200);
    } else {
      expect(challengeOf(anonymous)).toMatch(/^Bearer realm="[^"]+"$/);
      expect((await send(url, { authorization: `Bearer ${plain}` })).status).toBe(200);
      const refused = await send(url, { authorization: `DPoP ${bound}`, dpop: proof });
      expect(refused.status).toBe(400);
      expect(challengeOf(refused)).toMatch(/^Bearer realm="[^"]+", error="invalid_request", error_description="[^"]+"$/);
      // a DPoP-bound token cannot be downgraded to Bearer either
      expect((await send(url, { authorization: `Bearer ${bound}` })).status).toBe(401);
    }
  });
});
