/**
 * Adversarial DPoP proofs (SECURITY-CASES DP-04, DP-05, DP-08, DP-10, DP-11, DP-12) sent as real HTTP
 * requests, over Express and Fastify, with a genuine DPoP-bound access token (`cnf.jkt`) issued by the
 * real OP (oidc-provider, client credentials + DPoP). Every proof is assembled and signed by hand (WebCrypto)
 * so each header member and claim can be dropped or bent; the expected answer is 401 with an RFC 9449 §7.1
 * challenge, the controller never reached, and no JWKS fetch caused by a proof that is already wrong.
 */
import { createHash, randomUUID } from 'node:crypto';
import { request as httpRequest, type OutgoingHttpHeaders } from 'node:http';
import { Controller, Get, UseGuards } from '@nestjs/common';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, type JWK } from 'jose';
import {
  allowInsecureRequests,
  clientCredentialsGrant,
  discovery,
  getDPoPHandle,
  type Configuration as RpConfiguration,
} from 'openid-client';
import { AuthMethods, CurrentUser, OidcGuard, type OidcUser } from '../lib/index.js';
import { PLATFORMS, startTestApp, type TestApp } from './fixtures/app.fixture.js';
import { API_RESOURCE, startTestOp, TEST_CLIENT_ID, TEST_CLIENT_SECRET, webClient, type TestOp } from './fixtures/op.fixture.js';
import { getFreePort } from './fixtures/ports.js';

/** `bearer.algorithms` of the apps: also the DPoP proof algorithms they advertise (`algs=`). */
const ALGS = ['ES256', 'RS256', 'PS256'];
/** RFC 9449 §11.1 acceptance window W of the module (DPOP_IAT_WINDOW). */
const W = 300;
const now = (): number => Math.floor(Date.now() / 1000);

/** Controller spy: how many requests got past the guard. */
let reached = 0;

@Controller('api')
@UseGuards(OidcGuard)
@AuthMethods('bearer')
class DpopApiController {
  @Get('orders')
  orders(@CurrentUser() user: OidcUser) {
    reached += 1;
    return { sub: user.sub, authMethod: user.authMethod, cnf: user.claims.cnf };
  }
}

interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** node:http rather than fetch: header values are sent exactly as given. */
function send(url: string, headers: OutgoingHttpHeaders = {}): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: 'GET', headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end();
  });
}

const challengeOf = (res: RawResponse): string => String(res.headers['www-authenticate'] ?? '');
const b64url = (input: string | Uint8Array): string => Buffer.from(input).toString('base64url');
/** RFC 9449 §4.2 `ath`, computed here independently of the module. */
const athOf = (token: string): string => createHash('sha256').update(token, 'ascii').digest('base64url');

type Signer = { kind: 'ES256' | 'RS256'; privateKey: CryptoKey } | { kind: 'HS256'; secret: string } | { kind: 'none' };

/** Signs `header.payload` exactly as given (no library checks on the header), returns the compact JWS. */
async function compactJws(header: Record<string, unknown>, payload: Record<string, unknown>, signer: Signer): Promise<string> {
  const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(payload))}`;
  const data = new TextEncoder().encode(input);
  let sig: ArrayBuffer;
  switch (signer.kind) {
    case 'none':
      return `${input}.`;
    case 'HS256': {
      const key = await crypto.subtle.importKey('raw', new TextEncoder().encode(signer.secret), { name: 'HMAC', hash: 'SHA-256' }, false, [
        'sign',
      ]);
      sig = await crypto.subtle.sign('HMAC', key, data);
      break;
    }
    case 'ES256':
      sig = await crypto.subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, signer.privateKey, data);
      break;
    case 'RS256':
      sig = await crypto.subtle.sign({ name: 'RSASSA-PKCS1-v1_5' }, signer.privateKey, data);
      break;
  }
  return `${input}.${b64url(new Uint8Array(sig))}`;
}

/** Merge with `undefined` meaning "drop the member". */
function merged(base: Record<string, unknown>, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const out = { ...base, ...overrides };
  for (const k of Object.keys(out)) if (out[k] === undefined) delete out[k];
  return out;
}

interface Keys {
  /** the client's DPoP key: the bound token's cnf.jkt is its thumbprint */
  holder: CryptoKeyPair;
  holderJwk: JWK;
  /** an attacker's fresh key */
  thief: CryptoKeyPair;
  thiefJwk: JWK;
  /** an RSA key (for RS256 proofs and RSA jwk variants), extractable with its private members */
  rsa: CryptoKeyPair;
  rsaJwk: JWK;
  rsaPrivateJwk: JWK;
  holderPrivateJwk: JWK;
}

let keys: Keys;

beforeAll(async () => {
  const [holder, thief, rsa] = await Promise.all([
    generateKeyPair('ES256', { extractable: true }),
    generateKeyPair('ES256', { extractable: true }),
    generateKeyPair('RS256', { extractable: true }),
  ]);
  keys = {
    holder,
    holderJwk: await exportJWK(holder.publicKey),
    holderPrivateJwk: await exportJWK(holder.privateKey),
    thief,
    thiefJwk: await exportJWK(thief.publicKey),
    rsa,
    rsaJwk: await exportJWK(rsa.publicKey),
    rsaPrivateJwk: await exportJWK(rsa.privateKey),
  };
});

describe.each(PLATFORMS)('DPoP proof security against oidc-provider tokens (%s)', (platform) => {
  let op: TestOp;
  let t: TestApp;
  let required: TestApp;
  let rp: RpConfiguration;
  /** a DPoP-bound access token (cnf.jkt = thumbprint of keys.holder) */
  let bound: string;
  /** a second bound token of the same key (for `ath` of another token) */
  let otherBound: string;
  let url: string;

  beforeAll(async () => {
    const port = await getFreePort();
    op = await startTestOp({ clients: [webClient(`http://127.0.0.1:${port}`)] });
    const options = { issuer: op.issuer, clientId: TEST_CLIENT_ID, clientSecret: TEST_CLIENT_SECRET };
    [t, required] = await Promise.all([
      startTestApp({
        platform,
        port,
        options: { ...options, bearer: { audience: API_RESOURCE, algorithms: ALGS } },
        controllers: [DpopApiController],
      }),
      startTestApp({
        platform,
        options: { ...options, bearer: { audience: API_RESOURCE, algorithms: ALGS, dpop: 'required' } },
        controllers: [DpopApiController],
      }),
    ]);
    rp = await discovery(new URL(op.issuer), TEST_CLIENT_ID, TEST_CLIENT_SECRET, undefined, { execute: [allowInsecureRequests] });
    const handle = getDPoPHandle(rp, keys.holder);
    const grant = () => clientCredentialsGrant(rp, { resource: API_RESOURCE, scope: 'api:read' }, { DPoP: handle });
    const first = await grant();
    expect(first.token_type.toLowerCase()).toBe('dpop');
    bound = first.access_token;
    otherBound = (await grant()).access_token;
    url = `${t.baseUrl}/api/orders`;

    // Control, and the keys are cached from here on: DPoP failures below must cause no JWKS fetch.
    const ok = await send(url, { authorization: `DPoP ${bound}`, dpop: await proof() });
    expect(ok.status).toBe(200);
    expect(JSON.parse(ok.body)).toMatchObject({ authMethod: 'dpop', cnf: { jkt: await calculateJwkThumbprint(keys.holderJwk) } });
    const target = `${required.baseUrl}/api/orders`;
    expect((await send(target, { authorization: `DPoP ${bound}`, dpop: await proof({ target }) })).status).toBe(200);
  });

  afterAll(async () => {
    await Promise.all([t?.close(), required?.close()]);
    await op?.close();
  });

  let reachedBefore = 0;
  let jwksBefore = 0;
  beforeEach(() => {
    reachedBefore = reached;
    jwksBefore = op.count('/jwks');
  });

  /** A proof for GET `target` (default: the app's /api/orders) with header/claims overrides, signed by `signer`. */
  async function proof(
    opts: { header?: Record<string, unknown>; claims?: Record<string, unknown>; signer?: Signer; target?: string; token?: string } = {},
  ): Promise<string> {
    const header = merged({ typ: 'dpop+jwt', alg: 'ES256', jwk: keys.holderJwk }, opts.header);
    const claims = merged(
      { jti: randomUUID(), htm: 'GET', htu: opts.target ?? url, iat: now(), ath: athOf(opts.token ?? bound) },
      opts.claims,
    );
    return compactJws(header, claims, opts.signer ?? { kind: 'ES256', privateKey: keys.holder.privateKey });
  }

  const realmRe = /Bearer realm="127\.0\.0\.1:\d+"/;
  const ALGS_PARAM = `algs="${ALGS.join(' ')}"`;

  /** SECURITY-CASES BR-REJECT for DPoP: 401, the DPoP challenge with `error` and `algs`, spy untouched, no JWKS fetch. */
  function expectDpopRejected(
    res: RawResponse,
    error: 'invalid_dpop_proof' | 'invalid_token',
    app: 'allowed' | 'required' = 'allowed',
  ): void {
    expect(res.status).toBe(401);
    const challenge = challengeOf(res);
    const dpop = `^DPoP error="${error}", ${ALGS_PARAM}, error_description="[^"]+"`;
    // RFC 9449 §7.1: where Bearer is accepted too, its challenge is advertised as well.
    expect(challenge).toMatch(new RegExp(app === 'allowed' ? `${dpop}, ${realmRe.source}$` : `${dpop}$`));
    expect(res.headers['cache-control']).toBe('no-store');
    // The module runs no RS-nonce mode (RFC 9449 §9 is optional): never a DPoP-Nonce challenge.
    expect(res.headers['dpop-nonce']).toBeUndefined();
    expect(res.body).not.toContain(bound.split('.')[1]!);
    expect(res.body).not.toMatch(/at .*\.(ts|js):\d+/);
    expect(reached).toBe(reachedBefore);
    expect(op.count('/jwks')).toBe(jwksBefore);
  }

  const call = async (dpop: string | undefined, token = bound, app = t) =>
    send(`${app.baseUrl}/api/orders`, { authorization: `DPoP ${token}`, ...(dpop === undefined ? {} : { dpop }) });

  // -------------------------------------------------------------------------------------------
  describe('DP-04 proof syntax → 401 invalid_dpop_proof', () => {
    it.each<[string, () => Promise<string>]>([
      ['(a) not a JWT', async () => 'not-a-jwt'],
      ['(a) two segments', async () => (await proof()).split('.').slice(0, 2).join('.')],
      [
        '(a) a JSON array as header',
        async () => compactJws([] as never, { jti: randomUUID() }, { kind: 'ES256', privateKey: keys.holder.privateKey }),
      ],
      ['(b) typ missing', () => proof({ header: { typ: undefined } })],
      ['(b) alg missing', () => proof({ header: { alg: undefined } })],
      ['(b) jwk missing', () => proof({ header: { jwk: undefined } })],
      ['(c) typ "JWT"', () => proof({ header: { typ: 'JWT' } })],
      ['(c) typ "dpop+jwt+x"', () => proof({ header: { typ: 'dpop+jwt+x' } })],
      ['(d) jti missing', () => proof({ claims: { jti: undefined } })],
      ['(d) htm missing', () => proof({ claims: { htm: undefined } })],
      ['(d) htu missing', () => proof({ claims: { htu: undefined } })],
      ['(d) iat missing', () => proof({ claims: { iat: undefined } })],
      ['(d) ath missing', () => proof({ claims: { ath: undefined } })],
      ['(d) jti empty', () => proof({ claims: { jti: '' } })],
      ['(d) iat a string', () => proof({ claims: { iat: String(now()) } })],
      ['(e) EC jwk carrying the private "d"', () => proof({ header: { jwk: keys.holderPrivateJwk } })],
      [
        '(e) RSA jwk carrying "d", "p", "q" (RS256)',
        () => proof({ header: { alg: 'RS256', jwk: keys.rsaPrivateJwk }, signer: { kind: 'RS256', privateKey: keys.rsa.privateKey } }),
      ],
      [
        '(e) RSA public jwk plus only "p" and "q" (RS256)',
        () =>
          proof({
            header: { alg: 'RS256', jwk: { ...keys.rsaJwk, p: keys.rsaPrivateJwk.p, q: keys.rsaPrivateJwk.q } },
            signer: { kind: 'RS256', privateKey: keys.rsa.privateKey },
          }),
      ],
    ])('DP-04 %s → 401 invalid_dpop_proof', async (_, build) => {
      expectDpopRejected(await call(await build()), 'invalid_dpop_proof');
    });

    it('DP-04 (control): the same builder with nothing removed → 200 (so each rejection above is the removed member)', async () => {
      expect((await call(await proof())).status).toBe(200);
      expect(reached).toBe(reachedBefore + 1);
      // an RS256 proof by a key the token is not bound to passes the proof checks and fails only on cnf.jkt
      const rs = await call(
        await proof({ header: { alg: 'RS256', jwk: keys.rsaJwk }, signer: { kind: 'RS256', privateKey: keys.rsa.privateKey } }),
      );
      expect(rs.status).toBe(401);
      expect(challengeOf(rs)).toMatch(/^DPoP error="invalid_token"/);
    });
  });

  // -------------------------------------------------------------------------------------------
  describe('DP-05 proof algorithm and signature → 401 invalid_dpop_proof', () => {
    it.each<[string, () => Promise<string>]>([
      ['(a) alg "none", empty signature', () => proof({ header: { alg: 'none' }, signer: { kind: 'none' } })],
      [
        '(a) alg "none" with a plausible signature segment',
        async () => `${await proof({ header: { alg: 'none' }, signer: { kind: 'none' } })}c2lnbmF0dXJl`,
      ],
      ['(a) alg "NONE"', async () => `${await proof({ header: { alg: 'NONE' }, signer: { kind: 'none' } })}c2ln`],
      [
        '(b) HS256 with a jwk of kty "oct"',
        () =>
          proof({
            header: { alg: 'HS256', jwk: { kty: 'oct', k: b64url('dpop-hmac-secret') } },
            signer: { kind: 'HS256', secret: 'dpop-hmac-secret' },
          }),
      ],
      [
        '(b) HS256 with the holder\'s EC jwk (signed with its "x" as secret)',
        () => proof({ header: { alg: 'HS256' }, signer: { kind: 'HS256', secret: String(keys.holderJwk.x) } }),
      ],
      [
        '(c) alg RS256 with an EC jwk (signed by an RSA key)',
        () => proof({ header: { alg: 'RS256' }, signer: { kind: 'RS256', privateKey: keys.rsa.privateKey } }),
      ],
      ['(c) alg ES256 with an RSA jwk (signed by the EC key)', () => proof({ header: { jwk: keys.rsaJwk } })],
      ['(c) alg ES512, not in the allow-list', () => proof({ header: { alg: 'ES512' } })],
      [
        '(d) one signature byte flipped',
        async () => {
          const [h, p, s] = (await proof()).split('.') as [string, string, string];
          const sig = Buffer.from(s, 'base64url');
          sig[10]! ^= 0x01;
          return `${h}.${p}.${sig.toString('base64url')}`;
        },
      ],
      [
        '(d) an all-zero ES256 signature (r = s = 0)',
        async () => {
          const [h, p] = (await proof()).split('.') as [string, string];
          return `${h}.${p}.${Buffer.alloc(64).toString('base64url')}`;
        },
      ],
      [
        '(e) signed by a key other than the jwk (the thief signs, the header names the holder)',
        () => proof({ signer: { kind: 'ES256', privateKey: keys.thief.privateKey } }),
      ],
    ])('DP-05 %s → 401 invalid_dpop_proof', async (_, build) => {
      expectDpopRejected(await call(await build()), 'invalid_dpop_proof');
    });
  });

  // -------------------------------------------------------------------------------------------
  describe(`DP-08 iat window (W = ${W} s)`, () => {
    it.each<[string, () => number]>([
      ['iat = now + 1 h', () => now() + 3600],
      ['iat = now − 1 h', () => now() - 3600],
      ['iat = now + (W + 5 s)', () => now() + W + 5],
      ['iat = now − (W + 5 s)', () => now() - W - 5],
    ])('DP-08 %s → 401 invalid_dpop_proof', async (_, iat) => {
      expectDpopRejected(await call(await proof({ claims: { iat: iat() } })), 'invalid_dpop_proof');
    });

    it('DP-08 (control): iat = now − (W − 5 s) → 200', async () => {
      const res = await call(await proof({ claims: { iat: now() - (W - 5) } }));
      expect(res.status).toBe(200);
      expect(reached).toBe(reachedBefore + 1);
    });
  });

  // -------------------------------------------------------------------------------------------
  describe('DP-10 ath binding → 401 invalid_dpop_proof', () => {
    it.each<[string, () => string | undefined]>([
      ['ath missing', () => undefined],
      ['ath = hash of another (valid, same-key) access token', () => athOf(otherBound)],
      ['ath in padded base64', () => createHash('sha256').update(bound).digest('base64')],
      ['ath with a trailing "="', () => `${athOf(bound)}=`],
      ['ath in hex', () => createHash('sha256').update(bound).digest('hex')],
      ['ath = SHA-256 of the token with a trailing space', () => athOf(`${bound} `)],
    ])('DP-10 %s → 401 invalid_dpop_proof', async (_, ath) => {
      expectDpopRejected(await call(await proof({ claims: { ath: ath() } })), 'invalid_dpop_proof');
    });

    it('DP-10 (control): the other token with its own ath → 200', async () => {
      const res = await call(await proof({ token: otherBound }), otherBound);
      expect(res.status).toBe(200);
    });
  });

  // -------------------------------------------------------------------------------------------
  describe('DP-11 key binding (cnf.jkt)', () => {
    it("DP-11: a stolen token with an otherwise valid proof by the thief's fresh key → 401 invalid_token; the holder still gets 200", async () => {
      expect(await calculateJwkThumbprint(keys.thiefJwk)).not.toBe(await calculateJwkThumbprint(keys.holderJwk));
      const thiefProof = await proof({ header: { jwk: keys.thiefJwk }, signer: { kind: 'ES256', privateKey: keys.thief.privateKey } });
      const stolen = await call(thiefProof);
      expectDpopRejected(stolen, 'invalid_token');
      expect(challengeOf(stolen)).toContain('error_description="Invalid DPoP key binding."');
      // The same over the DPoP-only app.
      const stolenRequired = await call(
        await proof({
          header: { jwk: keys.thiefJwk },
          signer: { kind: 'ES256', privateKey: keys.thief.privateKey },
          target: `${required.baseUrl}/api/orders`,
        }),
        bound,
        required,
      );
      expectDpopRejected(stolenRequired, 'invalid_token', 'required');
      // The legitimate holder is unaffected.
      const holder = await call(await proof());
      expect(holder.status).toBe(200);
      expect(reached).toBe(reachedBefore + 1);
    });
  });

  // -------------------------------------------------------------------------------------------
  describe('DP-12 error signalling', () => {
    it('DP-12: a proof rejection → 401 `DPoP error="invalid_dpop_proof", algs="ES256 RS256 PS256", …` plus the Bearer challenge', async () => {
      const res = await call(await proof({ claims: { htm: 'POST' } }));
      expectDpopRejected(res, 'invalid_dpop_proof');
      expect(challengeOf(res)).toMatch(
        /^DPoP error="invalid_dpop_proof", algs="ES256 RS256 PS256", error_description="[^"]+", Bearer realm="127\.0\.0\.1:\d+"$/,
      );
    });

    it('DP-12: a token rejection under the DPoP scheme (forged token signature, valid proof) → 401 `DPoP error="invalid_token"` with algs', async () => {
      const [h, p] = bound.split('.') as [string, string];
      const forged = `${h}.${p}.${Buffer.alloc(256, 1).toString('base64url')}`;
      const res = await call(await proof({ token: forged }), forged);
      expectDpopRejected(res, 'invalid_token');
    });

    it('DP-12: no credentials → 401 with both challenges, no error code; the DPoP challenge lists algs', async () => {
      const res = await send(url);
      expect(res.status).toBe(401);
      expect(challengeOf(res)).toMatch(/^Bearer realm="127\.0\.0\.1:\d+", DPoP algs="ES256 RS256 PS256"$/);
      expect(reached).toBe(reachedBefore);
    });

    it("DP-12: with bearer.dpop 'required' only the DPoP challenge is sent, with error and algs", async () => {
      const target = `${required.baseUrl}/api/orders`;
      const bad = await call(await proof({ target, claims: { iat: now() - 3600 } }), bound, required);
      expectDpopRejected(bad, 'invalid_dpop_proof', 'required');
      const anonymous = await send(target);
      expect(anonymous.status).toBe(401);
      expect(challengeOf(anonymous)).toBe(`DPoP ${ALGS_PARAM}`);
      expect((await call(await proof({ target }), bound, required)).status).toBe(200);
    });

    it.each(['DPoP', 'dpop', 'DPOP'])(
      'DP-12: scheme %s is accepted (case-insensitive), no DPoP-Nonce is ever demanded, and a proof carrying an unsolicited nonce still passes',
      async (scheme) => {
        const res = await send(url, { authorization: `${scheme} ${bound}`, dpop: await proof({ claims: { nonce: 'client-chosen' } }) });
        expect(res.status).toBe(200);
        expect(res.headers['dpop-nonce']).toBeUndefined();
        expect(reached).toBe(reachedBefore + 1);
      },
    );
  });
});
