/**
 * Adversarial access tokens (SECURITY-CASES BR-*, RS-01/02/08) minted by the hostile issuer and sent to a
 * real app over Express and Fastify: every one must be answered like a user would see it — 401 with an
 * RFC 6750 challenge, the controller never reached, the attacker's canary never contacted.
 */
import { createPublicKey, randomUUID } from 'node:crypto';
import { PLATFORMS, type TestApp } from './fixtures/app.fixture.js';
import { startHostileApp } from './fixtures/hostile-login.js';
import { startCanary, startHostileOp, type Canary, type HostileOp } from './fixtures/hostile-op.fixture.js';

const API = 'https://api.hostile.test';
const L = 60;
const now = () => Math.floor(Date.now() / 1000);

let hop: HostileOp;
let canary: Canary;

beforeAll(async () => {
  [hop, canary] = await Promise.all([startHostileOp(), startCanary()]);
});
afterAll(async () => {
  await Promise.all([hop?.close(), canary?.close()]);
});
afterEach(() => {
  // SECURITY-CASES §0: any hit on the attacker's canary fails the test.
  expect(canary.hits).toHaveLength(0);
});

function claims(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const base: Record<string, unknown> = {
    iss: hop.issuer,
    sub: 'alice',
    aud: API,
    client_id: 'hostile-app',
    jti: randomUUID(),
    iat: now(),
    exp: now() + 300,
    scope: 'orders:read',
  };
  for (const [k, v] of Object.entries(overrides)) {
    if (v === undefined) delete base[k];
    else base[k] = v;
  }
  return base;
}

const atJwt = (payload = claims(), header: Record<string, unknown> = {}) => hop.sign(payload, { header: { typ: 'at+jwt', ...header } });

describe.each(PLATFORMS)('hostile access tokens over %s', (platform) => {
  let t: TestApp;
  let strict: TestApp;

  beforeAll(async () => {
    t = await startHostileApp(hop, platform, { bearer: { audience: API, algorithms: ['RS256', 'ES256'] } });
    strict = await startHostileApp(hop, platform, {
      bearer: { audience: API, algorithms: ['RS256', 'ES256'], requireJwtAccessTokenType: true },
    });
  });
  afterAll(async () => {
    await t?.close();
    await strict?.close();
  });

  async function call(token: string, app = t, scheme = 'Bearer') {
    return fetch(`${app.baseUrl}/profile/api-only`, { headers: { authorization: `${scheme} ${token}` } });
  }

  async function expectRejected(token: string, app = t) {
    const res = await call(token, app);
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toMatch(/^Bearer realm="[^"]+", error="invalid_token"/);
    const body = await res.text();
    expect(body).not.toContain(token);
    expect(body).not.toMatch(/at .*\.(ts|js):\d+/);
  }

  it('accepts the control token (BR-01)', async () => {
    const res = await call(await atJwt());
    expect(res.status).toBe(200);
  });

  it.each([
    ['(a) JWT', 'JWT', 200, 401],
    ['(b) absent', undefined, 200, 401],
    ['(c) dpop+jwt', 'dpop+jwt', 401, 401],
    ['(d) application/at+jwt', 'application/at+jwt', 200, 200],
  ])('typ %s: %s → default %i, requireJwtAccessTokenType %i (BR-03, RFC 9068 §4)', async (_, typ, lenient, required) => {
    const token = await hop.sign(claims(), { header: { typ } });
    expect((await call(token)).status).toBe(lenient);
    expect((await call(token, strict)).status).toBe(required);
  });

  it.each([
    ['(a) aud missing', { aud: undefined }],
    ['(b) aud other', { aud: ['other'] }],
    ['(d) iss is the attacker', { iss: 'http://127.0.0.1:6666' }],
    ['(e) iss missing', { iss: undefined }],
  ])('refuses %s (BR-05, RFC 9068 §4)', async (_, overrides) => {
    await expectRejected(await atJwt(claims(overrides)));
  });

  it('accepts aud ["other", <api>] (BR-05 c)', async () => {
    expect((await call(await atJwt(claims({ aud: ['other', API] })))).status).toBe(200);
  });

  it.each([
    ['(a) exp = now − (L + 10 s)', () => ({ exp: now() - (L + 10) }), 401],
    ['(b) exp = now − (L − 10 s)', () => ({ exp: now() - (L - 10) }), 200],
    ['(c) exp missing', () => ({ exp: undefined }), 401],
    ['(d) exp a string', () => ({ exp: '9999999999' }), 401],
    ['(e) exp 1e300', () => ({ exp: 1e300 }), 401],
    ['(f) nbf = now + (L + 10 s)', () => ({ nbf: now() + L + 10 }), 401],
    ['(g) iat = now + (L + 60 s)', () => ({ iat: now() + L + 60 }), 401],
  ])('time claims %s → %i (BR-06, RS-08)', async (_, overrides, status) => {
    const res = await call(await atJwt(claims(overrides())));
    expect(res.status).toBe(status);
  });

  it.each([['sub'], ['client_id'], ['jti'], ['iat']])('refuses an at+jwt without %s (BR-07, RFC 9068 §2.2)', async (claim) => {
    await expectRejected(await atJwt(claims({ [claim]: undefined })));
  });

  it.each([
    ['sub a number', { sub: 42 }],
    ['client_id an array', { client_id: ['a'] }],
  ])('refuses %s (BR-07)', async (_, overrides) => {
    await expectRejected(await atJwt(claims(overrides)));
  });

  it.each(['none', 'None', 'NONE'])('refuses alg %s (BR-08, RFC 8725 §3.1)', async (alg) => {
    await expectRejected(hop.raw({ alg, typ: 'at+jwt' }, claims(), ''));
    await expectRejected(hop.raw({ alg, typ: 'at+jwt' }, claims(), 'c2lnbmF0dXJl'));
  });

  it('refuses HS256 keyed with the OP public key as PEM, as the JWK n, and with the client secret (BR-09)', async () => {
    const jwk = hop.keys.rs256.publicJwk;
    const pem = createPublicKey({ key: jwk as never, format: 'jwk' })
      .export({ type: 'spki', format: 'pem' })
      .toString();
    for (const secret of [pem, pem.trimEnd(), String(jwk.n), JSON.stringify(hop.jwks), 'hostile-secret-hostile-secret-hostile-secret']) {
      await expectRejected(await hop.sign(claims(), { hmacSecret: secret, header: { kid: hop.keys.rs256.kid, typ: 'at+jwt' } }));
    }
  });

  it('refuses an algorithm that does not match the key, and PS256 outside the allow-list (BR-10)', async () => {
    // ES256 header on an RSA kid, RS256 header on an EC kid, and PS256 (not allowed here).
    await expectRejected(await hop.sign(claims(), { key: hop.keys.es256, header: { kid: hop.keys.rs256.kid, typ: 'at+jwt' } }));
    await expectRejected(await hop.sign(claims(), { key: hop.keys.rs256, header: { kid: hop.keys.es256.kid, typ: 'at+jwt' } }));
    await expectRejected(await hop.sign(claims(), { key: hop.keys.ps256, header: { typ: 'at+jwt' } }));
    await expectRejected(await hop.sign(claims(), { key: hop.keys.es384, header: { alg: 'ES256', typ: 'at+jwt' } }));
  });

  it('refuses broken signatures (BR-11)', async () => {
    const good = await atJwt();
    const [h, p, s] = good.split('.') as [string, string, string];
    const flipped = s.slice(0, -2) + (s.at(-2) === 'A' ? 'B' : 'A') + s.at(-1);
    await expectRejected(`${h}.${p}.${flipped}`);
    await expectRejected(`${h}.${p}.`);
    await expectRejected(await hop.sign(claims(), { key: hop.keys.other, header: { kid: hop.keys.rs256.kid, typ: 'at+jwt' } }));
    const es = await hop.sign(claims(), { key: hop.keys.es256, header: { typ: 'at+jwt' } });
    const [eh, ep] = es.split('.') as [string, string];
    await expectRejected(`${eh}.${ep}.${Buffer.alloc(64).toString('base64url')}`);
    await expectRejected(`${h}.${Buffer.from(JSON.stringify(claims()) + ' ').toString('base64url')}.${s}`);
  });

  it('never fetches a key named in the header (BR-12, RFC 8725 §3.10)', async () => {
    const jwk = hop.keys.other.publicJwk;
    for (const header of [{ jwk }, { jku: `${canary.url}/jwks` }, { x5u: `${canary.url}/cert` }, { x5c: ['MIIB'] }]) {
      await expectRejected(await hop.sign(claims(), { key: hop.keys.other, header: { ...header, kid: 'attacker', typ: 'at+jwt' } }));
    }
  });

  it('refuses unsupported JOSE features quickly (BR-14)', async () => {
    const started = Date.now();
    await expectRejected(await atJwt(claims(), { crit: ['exp'] }));
    await expectRejected(await atJwt(claims(), { b64: false, crit: ['b64'] }));
    await expectRejected('eyJhbGciOiJkaXIiLCJlbmMiOiJBMjU2R0NNIn0..aaaa.bbbb.cccc');
    await expectRejected(
      `${Buffer.from(JSON.stringify({ alg: 'PBES2-HS512+A256KW', enc: 'A256GCM', p2c: 2147483647 })).toString('base64url')}.a.b.c.d`,
    );
    await expectRejected(await atJwt(claims(), { cty: 'JWT' }));
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it.each([
    ['2 segments', 'a.b'],
    ['4 segments', 'a.b.c.d'],
    ['non-base64url', 'a*b.c$d.e'],
    ['padding', 'eyJhbGciOiJSUzI1NiJ9=.e30=.sig'],
    ['a header that is not JSON', `${Buffer.from('nope').toString('base64url')}.e30.sig`],
    ['a JSON array header', `${Buffer.from('[]').toString('base64url')}.e30.sig`],
    ['8 KB of dots', '.'.repeat(8192)],
  ])('answers a malformed token (%s) with 401/400, never 500 (BR-15)', async (_, token) => {
    const res = await call(token);
    expect([400, 401]).toContain(res.status);
  });

  it('answers 403 insufficient_scope with the scope it needs (BR-16, RFC 6750 §3.1)', async () => {
    const res = await fetch(`${t.baseUrl}/profile/orders`, {
      headers: { authorization: `Bearer ${await atJwt(claims({ scope: 'other' }))}` },
    });
    expect(res.status).toBe(403);
    expect(res.headers.get('www-authenticate')).toMatch(/error="insufficient_scope"/);
    expect(res.headers.get('www-authenticate')).toMatch(/scope="orders:read"/);
  });

  it('survives an unknown-kid flood with at most one JWKS refetch and keeps serving good tokens (RS-01)', async () => {
    const good = await atJwt();
    expect((await call(good)).status).toBe(200);
    hop.clearRequests();
    const flood = await Promise.all(
      Array.from({ length: 200 }, async () =>
        call(await hop.sign(claims(), { key: hop.keys.other, header: { kid: randomUUID(), typ: 'at+jwt' } })),
      ),
    );
    expect(flood.every((r) => r.status === 401)).toBe(true);
    expect(hop.count('/jwks')).toBeLessThanOrEqual(1);
    const started = Date.now();
    expect((await call(await atJwt())).status).toBe(200);
    expect(Date.now() - started).toBeLessThan(500);
  });
});
