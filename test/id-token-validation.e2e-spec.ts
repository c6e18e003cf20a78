/**
 * ID token validation with the module's one key cache (OIDC Core §3.1.3.7 steps 6–7): a key rotation reaches
 * logins as soon as any token made the module fetch the new key; ID tokens typed as another kind of token are
 * refused (RFC 8725 §3.11); and every refusal logs, at warn, what was found and what was expected.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { exportJWK, generateKeyPair } from 'jose';
import { PLATFORMS, type TestApp } from './fixtures/app.fixture.js';
import { Browser } from './fixtures/browser.js';
import { CapturingLogger } from './fixtures/capturing-logger.js';
import { startHostileOp, type HostileOp, type SigningKey } from './fixtures/hostile-op.fixture.js';
import { fullLogin, startHostileApp } from './fixtures/hostile-login.js';
import { logoutToken, postBackchannelLogout } from './fixtures/logout-token.js';

const API = 'https://api.example.com';

async function newKey(label: string): Promise<SigningKey> {
  const { publicKey, privateKey } = await generateKeyPair('RS256');
  const kid = `${label}-${randomBytes(4).toString('hex')}`;
  return { kid, alg: 'RS256', privateKey, publicJwk: { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' } };
}

let hop: HostileOp;
beforeAll(async () => {
  hop = await startHostileOp();
});
afterAll(async () => {
  await hop?.close();
});

describe.each(PLATFORMS)('ID token validation (%s)', (platform) => {
  let t: TestApp;
  const logger = new CapturingLogger();

  beforeEach(async () => {
    hop.reset();
    logger.clear();
    t = await startHostileApp(hop, platform, { fetchUserinfo: false, bearer: { audience: API } }, { logger });
  });
  afterEach(async () => {
    await t?.close();
  });

  async function login(): Promise<number> {
    return (await fullLogin(new Browser(), t.baseUrl)).callback.status;
  }

  it('key rotation: once an access token made the module fetch the new key, a login signed with it succeeds at once (one key cache)', async () => {
    expect(await login()).toBe(302);
    const rotated = await newKey('rotated');
    hop.jwks = { keys: [...hop.jwks.keys, rotated.publicJwk] };
    hop.behaviour.idToken = ({ claims, sign }) => sign(claims, { key: rotated });
    // The cooldown since the first fetch is over; an access token with the new kid makes the one refetch.
    t.clock.advance(31);
    hop.clearRequests();
    const now = Math.floor(t.clock.now() / 1000);
    const at = await hop.sign({ iss: hop.issuer, sub: 'alice', aud: API, iat: now, exp: now + 300 }, { key: rotated });
    expect((await fetch(`${t.baseUrl}/profile`, { headers: { authorization: `Bearer ${at}` } })).status).toBe(200);
    expect(hop.count('/jwks')).toBe(1);
    // The login right after uses the same cached key: no second fetch, no minute-long wait.
    expect(await login()).toBe(302);
    expect(hop.count('/jwks')).toBe(1);
  });

  it('an unknown kid is refused with a log line naming the kid found and the kids published', async () => {
    const unpublished = await newKey('unpublished');
    hop.behaviour.idToken = ({ claims, sign }) => sign(claims, { key: unpublished });
    expect(await login()).toBe(401);
    const [line] = logger.find('warn', 'callback failed', `"${unpublished.kid}"`, hop.keys.rs256.kid);
    expect(line).toBeDefined();
  });

  it.each([
    ['typ at+jwt', { typ: 'at+jwt' }, {}],
    ['typ logout+jwt', { typ: 'logout+jwt' }, {}],
    ['an events claim', {}, { events: { 'http://schemas.openid.net/event/backchannel-logout': {} } }],
  ])('ID token type (RFC 8725 §3.11): an ID token with %s is refused (401, no session)', async (_name, header, extra) => {
    hop.behaviour.idToken = ({ claims, sign }) => sign({ ...claims, ...extra }, { header });
    const browser = new Browser();
    const { callback } = await fullLogin(browser, t.baseUrl);
    expect(callback.status).toBe(401);
    expect((await browser.get(`${t.baseUrl}/auth/me`)).status).toBe(401);
  });

  it('an HS256 ID token without idTokenSigningAlg: 401, and the log names HS256, the expected alg and the option', async () => {
    hop.behaviour.idToken = ({ claims }) => hop.sign(claims, { hmacSecret: 'the-client-secret' });
    expect(await login()).toBe(401);
    expect(logger.find('warn', 'callback failed', '"HS256"', 'RS256', 'idTokenSigningAlg')).toHaveLength(1);
  });

  it('a skewed clock: the log gives the size of the gap and the tolerance', async () => {
    hop.behaviour.idTokenClaims = (claims) => ({ ...claims, iat: (claims.iat as number) + 612, jti: randomUUID() });
    expect(await login()).toBe(401);
    const [line] = logger.find('warn', 'callback failed', '"iat"', 's in the future', 'clockTolerance is 60 s', 'are the clocks');
    expect(line).toBeDefined();
    expect(line).toMatch(/61[0-4] s in the future/);
  });

  it('a refused logout token is logged at debug with its iss, aud, alg, kid and typ (never the token)', async () => {
    const token = await logoutToken(hop, { sub: 'alice', aud: 'another-client' });
    const res = await postBackchannelLogout(t.baseUrl, { logout_token: token });
    expect(res.status).toBe(400);
    const [line] = logger.find(
      'debug',
      'Logout token refused',
      `iss "${hop.issuer}"`,
      'aud "another-client"',
      'alg "RS256"',
      `kid "${hop.keys.rs256.kid}"`,
      'typ "logout+jwt"',
    );
    expect(line).toBeDefined();
    expect(line).not.toContain(token.split('.')[1]!.slice(0, 30));
  });

  it('a wrong audience: the log names the aud found and the client id expected', async () => {
    hop.behaviour.idTokenClaims = (claims) => ({ ...claims, aud: 'some-other-client' });
    expect(await login()).toBe(401);
    expect(logger.find('warn', 'callback failed', '"aud"', '"some-other-client"')).toHaveLength(1);
  });
});
