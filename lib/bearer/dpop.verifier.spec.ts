import { createHash, randomUUID } from 'node:crypto';
import { base64url, calculateJwkThumbprint, exportJWK, generateKeyPair, generateSecret, SignJWT, type JWK } from 'jose';
import { MemoryReplayCache } from '../cache/replay-cache.js';
import type { OidcBearerOptions } from '../config/oidc-options.interface.js';
import { resolveOidcOptions } from '../config/resolve-oidc-options.js';
import { OidcError } from '../errors/oidc.error.js';
import { accessTokenHash, DPOP_IAT_WINDOW, DpopVerifier, normalizeHtu } from './dpop.verifier.js';

const ACCESS_TOKEN = 'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl';
const URL_ = 'https://app.example.com/orders';
const W = DPOP_IAT_WINDOW;

class TestClock {
  offsetMs = 0;
  now(): number {
    return Date.now() + this.offsetMs;
  }
}

function setup(bearer: Partial<OidcBearerOptions> = {}) {
  const options = resolveOidcOptions({
    issuer: 'https://op.example.com',
    clientId: 'client-1',
    clientSecret: 'client-secret',
    baseUrl: 'https://app.example.com',
    session: { secret: 'a-test-session-secret-of-at-least-32-characters' },
    bearer: { audience: 'https://api.example.test', ...bearer },
  });
  const clock = new TestClock();
  return { dpop: new DpopVerifier(options, clock, new MemoryReplayCache()), clock };
}

const nowSeconds = () => Math.floor(Date.now() / 1000);

describe('DpopVerifier (RFC 9449 §4.3)', () => {
  let es256: CryptoKeyPair;
  let publicJwk: JWK;

  beforeAll(async () => {
    es256 = await generateKeyPair('ES256', { extractable: true });
    publicJwk = await exportJWK(es256.publicKey);
  });

  function claims(overrides: Record<string, unknown> = {}): Record<string, unknown> {
    const base: Record<string, unknown> = {
      jti: randomUUID(),
      htm: 'GET',
      htu: URL_,
      iat: nowSeconds(),
      ath: accessTokenHash(ACCESS_TOKEN),
      ...overrides,
    };
    for (const [k, v] of Object.entries(base)) if (v === undefined) delete base[k];
    return base;
  }

  async function proof(
    overrides: Record<string, unknown> = {},
    header: Record<string, unknown> = {},
    key: CryptoKey = es256.privateKey,
  ): Promise<string> {
    const protectedHeader: Record<string, unknown> = { typ: 'dpop+jwt', alg: 'ES256', jwk: publicJwk, ...header };
    for (const [k, v] of Object.entries(protectedHeader)) if (v === undefined) delete protectedHeader[k];
    return new SignJWT(claims(overrides)).setProtectedHeader(protectedHeader as never).sign(key);
  }

  function raw(header: unknown, payload: unknown, signature = ''): string {
    const enc = (v: unknown) => base64url.encode(JSON.stringify(v));
    return `${enc(header)}.${enc(payload)}.${signature}`;
  }

  const request = (overrides: Partial<{ method: string; url: string; accessToken: string }> = {}) => ({
    method: 'GET',
    url: URL_,
    accessToken: ACCESS_TOKEN,
    ...overrides,
  });

  async function invalid(dpop: DpopVerifier, value: string, req = request()): Promise<void> {
    const err = await dpop.verifyProof(value, req).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(OidcError);
    expect((err as OidcError).code).toBe('ERR_OIDC_INVALID_DPOP_PROOF');
  }

  describe('DP-01 valid proofs (control)', () => {
    it('accepts an ES256 proof and returns the RFC 7638 thumbprint of its key', async () => {
      const { dpop } = setup();
      const checked = await dpop.verifyProof(await proof(), request());
      expect(checked.jkt).toBe(await calculateJwkThumbprint(publicJwk, 'sha256'));
      expect(checked.replayTtl).toBeGreaterThan(0);
      expect(checked.replayTtl).toBeLessThanOrEqual(W + 60 + 1);
    });

    it('accepts extra unknown header members and claims, and RS256 / EdDSA keys', async () => {
      const { dpop } = setup();
      await expect(
        dpop.verifyProof(await proof({ extra: { a: 1 }, nonce_hint: 'x' }, { x_custom: true }), request()),
      ).resolves.toBeDefined();
      const rsa = await generateKeyPair('RS256', { extractable: true });
      await expect(
        dpop.verifyProof(await proof({}, { alg: 'RS256', jwk: await exportJWK(rsa.publicKey) }, rsa.privateKey), request()),
      ).resolves.toBeDefined();
      const ed = await generateKeyPair('Ed25519', { extractable: true });
      await expect(
        dpop.verifyProof(await proof({}, { alg: 'Ed25519', jwk: await exportJWK(ed.publicKey) }, ed.privateKey), request()),
      ).resolves.toBeDefined();
    });
  });

  describe('DP-04 proof syntax', () => {
    it('rejects what is not a single well-formed JWT', async () => {
      const { dpop } = setup();
      for (const value of ['', 'not-a-jwt', 'a.b', 'a.b.c.d.e', `${await proof()} `, 'x'.repeat(9000)]) await invalid(dpop, value);
      const [h, p, s] = (await proof()).split('.');
      await invalid(dpop, `${h}.${p}=.${s}`);
    });

    it('rejects a missing or wrong typ, a missing alg or jwk', async () => {
      const { dpop } = setup();
      await invalid(dpop, await proof({}, { typ: undefined }));
      await invalid(dpop, await proof({}, { typ: 'JWT' }));
      await invalid(dpop, await proof({}, { typ: 'dpop+jwt+x' }));
      await invalid(dpop, await proof({}, { typ: 'application/dpop+jwt' }));
      await invalid(dpop, await proof({}, { jwk: undefined }));
      const [, p, s] = (await proof()).split('.');
      await invalid(dpop, `${base64url.encode(JSON.stringify({ typ: 'dpop+jwt', jwk: publicJwk }))}.${p}.${s}`);
    });

    it.each(['jti', 'htm', 'htu', 'iat', 'ath'])('rejects a proof without %s', async (claim) => {
      const { dpop } = setup();
      await invalid(dpop, await proof({ [claim]: undefined }));
    });

    it('rejects a jwk carrying private members, and a jti longer than 256 characters', async () => {
      const { dpop } = setup();
      const privateJwk = await exportJWK(es256.privateKey);
      await invalid(dpop, await proof({}, { jwk: privateJwk }));
      const rsa = await generateKeyPair('RS256', { extractable: true });
      const rsaPrivate = await exportJWK(rsa.privateKey);
      await invalid(
        dpop,
        await proof(
          {},
          { alg: 'RS256', jwk: { kty: 'RSA', n: rsaPrivate.n, e: rsaPrivate.e, p: rsaPrivate.p, q: rsaPrivate.q } },
          rsa.privateKey,
        ),
      );
      await invalid(dpop, await proof({ jti: 'j'.repeat(257) }));
    });
  });

  describe('DP-05 algorithm and signature', () => {
    it('rejects alg none, HS256 with an oct jwk, RS256 with an EC jwk, a flipped byte and another signer', async () => {
      const { dpop } = setup();
      await invalid(dpop, raw({ typ: 'dpop+jwt', alg: 'none', jwk: publicJwk }, claims()));
      const secret = await generateSecret('HS256', { extractable: true });
      const octJwk = await exportJWK(secret);
      await invalid(
        dpop,
        await new SignJWT(claims()).setProtectedHeader({ typ: 'dpop+jwt', alg: 'HS256', jwk: octJwk } as never).sign(secret),
      );
      const [, p, s] = (await proof()).split('.');
      await invalid(dpop, `${base64url.encode(JSON.stringify({ typ: 'dpop+jwt', alg: 'RS256', jwk: publicJwk }))}.${p}.${s}`);
      const [h2, p2, s2] = (await proof()).split('.') as [string, string, string];
      const sig = base64url.decode(s2);
      sig[10]! ^= 0xff;
      await invalid(dpop, `${h2}.${p2}.${base64url.encode(sig)}`);
      const other = await generateKeyPair('ES256');
      await invalid(dpop, await proof({}, {}, other.privateKey));
    });

    it('rejects an algorithm outside bearer.algorithms', async () => {
      const { dpop } = setup({ algorithms: ['RS256'] });
      await invalid(dpop, await proof());
    });
  });

  describe('DP-06 htm', () => {
    it('rejects PUT on a GET and a lower-case method', async () => {
      const { dpop } = setup();
      await invalid(dpop, await proof({ htm: 'PUT' }));
      await invalid(dpop, await proof({ htm: 'get' }));
    });
  });

  describe('DP-07 htu', () => {
    it.each([
      ['a different path', 'https://app.example.com/other'],
      ['a different host', 'https://evil.example/orders'],
      ['a different port', 'https://app.example.com:8443/orders'],
      ['http instead of https', 'http://app.example.com/orders'],
      ['a relative URL', '/orders'],
      ['userinfo in the URL', 'https://user@app.example.com/orders'],
    ])('rejects %s', async (_name, htu) => {
      const { dpop } = setup();
      await invalid(dpop, await proof({ htu }));
    });

    it.each([
      ['query and fragment on the proof only', 'https://app.example.com/orders?x=1#frag', URL_],
      ['a query on the request only', URL_, `${URL_}?page=2`],
      ['upper-case scheme and host', 'HTTPS://APP.EXAMPLE.COM/orders', URL_],
      ['an explicit :443', 'https://app.example.com:443/orders', URL_],
      ['percent-encoded unreserved characters', 'https://app.example.com/%6Frders', URL_],
    ])('accepts %s (RFC 3986 §6.2.2)', async (_name, htu, url) => {
      const { dpop } = setup();
      await expect(dpop.verifyProof(await proof({ htu }), request({ url }))).resolves.toBeDefined();
    });

    it('normalizes percent-encoding case but keeps reserved characters encoded', () => {
      expect(normalizeHtu('https://a.example/x%2fy')).toBe('https://a.example/x%2Fy');
      expect(normalizeHtu('https://a.example/x/y')).not.toBe(normalizeHtu('https://a.example/x%2Fy'));
      expect(normalizeHtu('ftp://a.example/')).toBeUndefined();
    });
  });

  describe('DP-08 iat window W', () => {
    it('rejects iat ±1 h and W+5 s in the future; accepts W−5 s in the past', async () => {
      const { dpop } = setup();
      const now = nowSeconds();
      await invalid(dpop, await proof({ iat: now + 3600 }));
      await invalid(dpop, await proof({ iat: now - 3600 }));
      await invalid(dpop, await proof({ iat: now + W + 5 }));
      await invalid(dpop, await proof({ iat: now - (W + 5) }));
      await invalid(dpop, await proof({ iat: String(now) }));
      await expect(dpop.verifyProof(await proof({ iat: now - (W - 5) }), request())).resolves.toBeDefined();
      await expect(dpop.verifyProof(await proof({ iat: now + (W - 5) }), request())).resolves.toBeDefined();
    });
  });

  describe('DP-10 ath', () => {
    it('rejects a missing ath, the hash of another token, padded base64 and hex', async () => {
      const { dpop } = setup();
      const digest = createHash('sha256').update(ACCESS_TOKEN).digest();
      await invalid(dpop, await proof({ ath: undefined }));
      await invalid(dpop, await proof({ ath: accessTokenHash(`${ACCESS_TOKEN}x`) }));
      await invalid(dpop, await proof({ ath: digest.toString('base64') }));
      await invalid(dpop, await proof({ ath: digest.toString('hex') }));
    });
  });

  describe('DP-09 replay', () => {
    it('accepts a jti once per key', async () => {
      const { dpop } = setup();
      const value = await proof();
      const first = await dpop.verifyProof(value, request());
      await dpop.recordJti(first);
      const second = await dpop.verifyProof(value, request());
      await expect(dpop.recordJti(second)).rejects.toMatchObject({ code: 'ERR_OIDC_INVALID_DPOP_PROOF' });
      // the same jti under another key is another proof
      const other = await generateKeyPair('ES256', { extractable: true });
      const jti = JSON.parse(new TextDecoder().decode(base64url.decode(value.split('.')[1]!))).jti as string;
      const otherProof = await proof({ jti }, { jwk: await exportJWK(other.publicKey) }, other.privateKey);
      await expect(dpop.recordJti(await dpop.verifyProof(otherProof, request()))).resolves.toBeUndefined();
    });
  });
});
