import { createServer, type Server } from 'node:http';
import { constants, generateKeyPairSync, randomUUID, sign, type KeyObject } from 'node:crypto';
import {
  base64url,
  CompactEncrypt,
  exportJWK,
  exportSPKI,
  generateKeyPair,
  generateSecret,
  importJWK,
  SignJWT,
  type JWK,
  type JWTHeaderParameters,
} from 'jose';
import { MemoryReplayCache } from '../cache/replay-cache.js';
import { AccessTokenClaims } from '../claims/access-token-claims.js';
import type { OidcBearerOptions } from '../config/oidc-options.interface.js';
import { resolveOidcOptions } from '../config/resolve-oidc-options.js';
import type { OidcDiscoveryService } from '../discovery/oidc-discovery.service.js';
import { OidcError } from '../errors/oidc.error.js';
import { AccessTokenVerifier } from './access-token.verifier.js';
import { accessTokenHash, DpopVerifier } from './dpop.verifier.js';
import { JwksCache } from '../keys/jwks.cache.js';
import { closeServer, listenLocal } from '../../test/fixtures/ports.js';

const API = 'https://api.example.test';
const CLIENT_ID = 'client-1';
const L = 60; // clockTolerance (the module default)

interface TestKey {
  kid: string;
  alg: string;
  privateKey: CryptoKey;
  publicJwk: JWK;
}

async function makeKey(kid: string, alg: string, options: Parameters<typeof generateKeyPair>[1] = {}, extra: JWK = {}): Promise<TestKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true, ...options });
  return { kid, alg, privateKey, publicJwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig', ...extra } };
}

/** A clock the cache and the verifier read; tokens are minted with real time. */
class TestClock {
  offsetMs = 0;
  now(): number {
    return Date.now() + this.offsetMs;
  }
}

const nowSeconds = () => Math.floor(Date.now() / 1000);

describe('AccessTokenVerifier', () => {
  let op: Server;
  let canary: Server;
  let issuer: string;
  let canaryUrl: string;
  let canaryHits = 0;
  let jwksHits = 0;
  let rsa: TestKey;
  let ec: TestKey;
  let ec384: TestKey;
  let encKey: TestKey;
  let signOnlyKey: TestKey;
  let rsaAnyAlg: TestKey;
  let attacker: TestKey;
  let attackerEc: TestKey;
  /** Keys made and used with node:crypto (kinds WebCrypto or jose will not generate). */
  const nodeKeys: Record<string, { privateKey: KeyObject; publicJwk: JWK }> = {};

  function nodeKey(kid: string, alg: string | undefined, type: 'rsa' | 'ec' | 'ed25519' | 'ed448', options: Record<string, unknown> = {}) {
    const { privateKey, publicKey } = generateKeyPairSync(type as 'rsa', options as never) as unknown as {
      privateKey: KeyObject;
      publicKey: KeyObject;
    };
    nodeKeys[kid] = {
      privateKey,
      publicJwk: { ...(publicKey.export({ format: 'jwk' }) as JWK), kid, ...(alg ? { alg } : {}), use: 'sig' },
    };
  }

  beforeAll(async () => {
    nodeKey('rsa-1024', 'RS256', 'rsa', { modulusLength: 1024 });
    nodeKey('ed-1', 'EdDSA', 'ed25519');
    nodeKey('ed448-1', 'EdDSA', 'ed448');
    nodeKey('ec521-1', 'ES512', 'ec', { namedCurve: 'P-521' });
    nodeKey('ps384-1', 'PS384', 'rsa', { modulusLength: 2048 });
    rsa = await makeKey('rsa-1', 'RS256');
    ec = await makeKey('ec-1', 'ES256');
    ec384 = await makeKey('ec384-1', 'ES384');
    encKey = await makeKey('enc-1', 'RS256', {}, { use: 'enc' });
    signOnlyKey = await makeKey('ops-1', 'RS256', {}, { use: undefined, key_ops: ['encrypt'] });
    attacker = await makeKey('rsa-1', 'RS256');
    rsaAnyAlg = await makeKey('rsa-any', 'RS256', {}, { alg: undefined });
    attackerEc = await makeKey('ec-1', 'ES256');

    op = createServer((req, res) => {
      res.setHeader('content-type', 'application/json');
      if (req.url === '/jwks') {
        jwksHits += 1;
        res.end(
          JSON.stringify({ keys: [rsa, ec, ec384, encKey, signOnlyKey, rsaAnyAlg, ...Object.values(nodeKeys)].map((k) => k.publicJwk) }),
        );
        return;
      }
      res.statusCode = 404;
      res.end('{}');
    });
    canary = createServer((_req, res) => {
      canaryHits += 1;
      res.end('{"keys":[]}');
    });
    issuer = await listenLocal(op);
    canaryUrl = await listenLocal(canary);
  });

  afterAll(async () => {
    await closeServer(op);
    await closeServer(canary);
  });

  function setup(bearer: Partial<OidcBearerOptions> = {}) {
    const options = resolveOidcOptions({
      issuer,
      clientId: CLIENT_ID,
      clientSecret: 'client-secret',
      baseUrl: 'https://app.example.com',
      session: { secret: 'a-test-session-secret-of-at-least-32-characters' },
      bearer: { audience: API, ...bearer },
    });
    const clock = new TestClock();
    // Unit scope: the configured issuer's metadata, as OidcDiscoveryService would hand it over.
    const discovery = { getMetadata: async () => ({ issuer, jwks_uri: `${issuer}/jwks` }) } as unknown as OidcDiscoveryService;
    const jwks = new JwksCache(options, discovery, clock);
    const dpop = new DpopVerifier(options, clock, new MemoryReplayCache());
    return { verifier: new AccessTokenVerifier(options, jwks, dpop, clock), clock };
  }

  function claims(overrides: Record<string, unknown> = {}): Record<string, unknown> {
    const now = nowSeconds();
    const base: Record<string, unknown> = {
      iss: issuer,
      aud: API,
      sub: 'alice',
      client_id: CLIENT_ID,
      jti: randomUUID(),
      iat: now,
      exp: now + 300,
      scope: 'api:read orders:read',
      ...overrides,
    };
    for (const [k, v] of Object.entries(base)) if (v === undefined) delete base[k];
    return base;
  }

  async function mint(
    overrides: Record<string, unknown> = {},
    header: Partial<JWTHeaderParameters> & Record<string, unknown> = {},
    key: TestKey = rsa,
  ): Promise<string> {
    const protectedHeader = { alg: key.alg, kid: key.kid, typ: 'at+jwt', ...header } as JWTHeaderParameters;
    for (const [k, v] of Object.entries(protectedHeader)) if (v === undefined) delete (protectedHeader as Record<string, unknown>)[k];
    return new SignJWT(claims(overrides)).setProtectedHeader(protectedHeader).sign(key.privateKey);
  }

  /** Raw JWS assembly for forgeries jose would refuse to produce. */
  function raw(header: unknown, payload: unknown, signature = ''): string {
    const enc = (v: unknown) => base64url.encode(JSON.stringify(v));
    return `${enc(header)}.${enc(payload)}.${signature}`;
  }

  /** A genuine RS256 signature (by the OP's key) over a header jose would refuse to sign. */
  async function signedRaw(header: Record<string, unknown>, payload: unknown): Promise<string> {
    const input = raw(header, payload).slice(0, -1);
    const sig = await crypto.subtle.sign('RSASSA-PKCS1-v1_5', rsa.privateKey, new TextEncoder().encode(input));
    return `${input}.${base64url.encode(new Uint8Array(sig))}`;
  }

  /** A JWS signed with node:crypto by one of `nodeKeys` (digest null for EdDSA). */
  function nodeSigned(kid: string, alg: string, payload: unknown, options: Record<string, unknown> = {}): string {
    const digest = alg === 'EdDSA' ? null : `sha${alg.slice(2)}`;
    const input = raw({ alg, kid, typ: 'at+jwt' }, payload).slice(0, -1);
    const sig = sign(digest, Buffer.from(input), { key: nodeKeys[kid]!.privateKey, ...options } as never);
    return `${input}.${sig.toString('base64url')}`;
  }

  async function rejects(verifier: AccessTokenVerifier, token: string, code = 'ERR_OIDC_INVALID_TOKEN'): Promise<OidcError> {
    const err = await verifier.verify(token).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(OidcError);
    expect((err as OidcError).code).toBe(code);
    // RS-09: the description never quotes the token.
    if (token.length >= 20) expect((err as OidcError).message).not.toContain(token.slice(0, 20));
    return err as OidcError;
  }

  describe('BR-01 valid RFC 9068 tokens (control)', () => {
    it('accepts an RS256 at+jwt and returns AccessTokenClaims', async () => {
      const { verifier } = setup();
      const result = await verifier.verify(await mint());
      expect(result).toBeInstanceOf(AccessTokenClaims);
      expect(result).toMatchObject({ iss: issuer, sub: 'alice', aud: API, client_id: CLIENT_ID, scope: 'api:read orders:read' });
    });

    it('accepts an ES256 at+jwt, application/at+jwt and an aud array containing the API (BR-03 d, BR-05 c)', async () => {
      const { verifier } = setup({ requireJwtAccessTokenType: true });
      await expect(verifier.verify(await mint({}, {}, ec))).resolves.toMatchObject({ sub: 'alice' });
      await expect(verifier.verify(await mint({}, { typ: 'application/at+jwt' }))).resolves.toMatchObject({ sub: 'alice' });
      await expect(verifier.verify(await mint({}, { typ: 'AT+JWT' }))).resolves.toMatchObject({ sub: 'alice' });
      await expect(verifier.verify(await mint({ aud: ['other', API] }))).resolves.toMatchObject({ sub: 'alice' });
    });

    it('hands every caller its own copy of cached claims', async () => {
      const { verifier } = setup();
      const token = await mint({ realm_access: { roles: ['a'] } });
      const first = await verifier.verify(token);
      (first.realm_access as { roles: string[] }).roles.push('admin');
      first.sub = 'mallory';
      const second = await verifier.verify(token);
      expect(second.sub).toBe('alice');
      expect(second.realm_access).toEqual({ roles: ['a'] });
    });
  });

  describe('verifyShared (the cached claims, for read-only callers)', () => {
    it('hands every call with a cached token the same deeply frozen claims; verify() still copies', async () => {
      const { verifier } = setup();
      const token = await mint({ realm_access: { roles: ['a'] } });
      const shared = await verifier.verifyShared(token);
      expect(shared).toBeInstanceOf(AccessTokenClaims);
      expect(await verifier.verifyShared(token)).toBe(shared);
      expect(Object.isFrozen(shared)).toBe(true);
      expect(Object.isFrozen(shared.realm_access)).toBe(true);
      expect(Object.isFrozen((shared.realm_access as { roles: string[] }).roles)).toBe(true);
      expect(() => {
        (shared as { sub: string }).sub = 'mallory';
      }).toThrow(TypeError);
      const own = await verifier.verify(token);
      expect(own).not.toBe(shared);
      expect(Object.isFrozen(own)).toBe(false);
      expect(own).toEqual(shared);
    });

    it('applies every check verify() applies (DPoP downgrade, issuer trust per request)', async () => {
      const { verifier } = setup({ issuers: (req) => ((req as { tenant?: string } | undefined)?.tenant === 'a' ? [issuer] : []) });
      const token = await mint();
      await expect(verifier.verifyShared(token, { req: { tenant: 'a' } })).resolves.toMatchObject({ sub: 'alice' });
      await expect(verifier.verifyShared(token, { req: { tenant: 'b' } })).rejects.toMatchObject({ code: 'ERR_OIDC_INVALID_TOKEN' });
      const { calculateJwkThumbprint } = await import('jose');
      const key = await generateKeyPair('ES256');
      const bound = await mint({ cnf: { jkt: await calculateJwkThumbprint(await exportJWK(key.publicKey)) } });
      await expect(verifier.verifyShared(bound, { req: { tenant: 'a' } })).rejects.toMatchObject({ code: 'ERR_OIDC_INVALID_TOKEN' });
    });

    it('copies deeply nested claims without exhausting the stack', async () => {
      const { verifier } = setup();
      const depth = 5000;
      const payload = JSON.stringify(claims()).replace(/}$/, `,"deep":${'['.repeat(depth)}1${']'.repeat(depth)}}`);
      const input = `${base64url.encode(JSON.stringify({ alg: 'RS256', kid: 'rsa-1', typ: 'at+jwt' }))}.${base64url.encode(payload)}`;
      const sig = await crypto.subtle.sign('RSASSA-PKCS1-v1_5', rsa.privateKey, new TextEncoder().encode(input));
      const result = await verifier.verify(`${input}.${base64url.encode(new Uint8Array(sig))}`);
      let node: unknown = result.deep;
      for (let i = 0; i < depth; i++) node = (node as unknown[])[0];
      expect(node).toBe(1);
    });
  });

  describe('BR-08 alg none', () => {
    it.each([
      ['none', ''],
      ['None', ''],
      ['NONE', ''],
      ['none', 'c2lnbmF0dXJl'],
    ])('rejects alg %s (signature "%s")', async (alg, sig) => {
      const { verifier } = setup();
      await rejects(verifier, raw({ alg, typ: 'at+jwt', kid: 'rsa-1' }, claims(), sig));
      await rejects(verifier, `${raw({ alg, typ: 'at+jwt' }, claims(), sig)}.`);
    });
  });

  describe('BR-09 HMAC key confusion', () => {
    it.each(['HS256', 'HS384', 'HS512'])('rejects %s keyed with the RSA public key material', async (alg) => {
      const { verifier } = setup();
      const pem = await exportSPKI(
        await crypto.subtle.importKey('jwk', { ...rsa.publicJwk, alg: 'RS256' }, { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' }, true, [
          'verify',
        ]),
      );
      const der = Buffer.from(pem.replace(/-----[^-]+-----|\s/g, ''), 'base64');
      const secrets = [
        new TextEncoder().encode(pem),
        new TextEncoder().encode(pem.trimEnd()),
        new Uint8Array(der),
        new TextEncoder().encode(rsa.publicJwk.n!),
        new TextEncoder().encode(JSON.stringify({ keys: [rsa.publicJwk] })),
      ];
      for (const secret of secrets) {
        const token = await new SignJWT(claims()).setProtectedHeader({ alg, kid: 'rsa-1', typ: 'at+jwt' }).sign(secret);
        await rejects(verifier, token);
      }
    });
  });

  describe('BR-10 binding between algorithm and key', () => {
    it('rejects RS256 naming an EC key, ES256 naming an RSA key, and ES256 signed with P-384', async () => {
      const { verifier } = setup();
      await rejects(verifier, await mint({}, { kid: 'ec-1' }, rsa));
      await rejects(verifier, await mint({}, { kid: 'rsa-1' }, ec));
      const p384 = await generateKeyPair('ES384');
      const forged = await new SignJWT(claims()).setProtectedHeader({ alg: 'ES384', kid: 'ec-1', typ: 'at+jwt' }).sign(p384.privateKey);
      await rejects(verifier, forged);
      // the P-384 key is published for ES384 only: an ES256 header naming it finds no key
      const es256Header = `${base64url.encode(JSON.stringify({ alg: 'ES256', kid: 'ec384-1', typ: 'at+jwt' }))}.${(await mint({}, {}, ec384)).split('.').slice(1).join('.')}`;
      await rejects(verifier, es256Header);
    });

    it('rejects PS256 when only RS256 is allowed', async () => {
      const { verifier } = setup({ algorithms: ['RS256'] });
      // control: the key publishes no `alg`, so PS256 verifies where PS256 is allowed
      const pss = await importJWK(await exportJWK(rsaAnyAlg.privateKey), 'PS256');
      const token = await new SignJWT(claims()).setProtectedHeader({ alg: 'PS256', kid: 'rsa-any', typ: 'at+jwt' }).sign(pss);
      await expect(setup().verifier.verify(token)).resolves.toBeDefined();
      await rejects(verifier, token);
    });

    it('rejects a kid naming a key with use "enc" or key_ops without verify, even with a valid signature', async () => {
      const { verifier } = setup();
      await rejects(verifier, await mint({}, {}, encKey));
      await rejects(verifier, await mint({}, {}, signOnlyKey));
    });
  });

  describe('BR-11 signature integrity', () => {
    it('rejects a flipped byte, an empty signature, another key reusing the kid, a re-encoded payload', async () => {
      const { verifier } = setup();
      const token = await mint();
      const [h, p, s] = token.split('.') as [string, string, string];
      const sig = base64url.decode(s);
      sig[sig.length - 1]! ^= 0x01;
      await rejects(verifier, `${h}.${p}.${base64url.encode(sig)}`);
      await rejects(verifier, `${h}.${p}.`);
      await rejects(verifier, await mint({}, {}, attacker));
      await rejects(verifier, await mint({}, {}, attackerEc));
      const spaced = base64url.encode(JSON.stringify(JSON.parse(new TextDecoder().decode(base64url.decode(p))), null, 1));
      await rejects(verifier, `${h}.${spaced}.${s}`);
    });

    it('rejects ES256 with r = s = 0 (CVE-2022-21449)', async () => {
      const { verifier } = setup();
      const [h, p] = (await mint({}, {}, ec)).split('.');
      await rejects(verifier, `${h}.${p}.${base64url.encode(new Uint8Array(64))}`);
    });
  });

  describe('signature algorithms (RFC 7518 §3, RFC 8037 §3.1)', () => {
    it('accepts EdDSA (Ed25519), ES512 (P-521) and PS384 signatures of the published keys', async () => {
      const { verifier } = setup();
      await expect(verifier.verify(nodeSigned('ed-1', 'EdDSA', claims()))).resolves.toMatchObject({ sub: 'alice' });
      await expect(verifier.verify(nodeSigned('ec521-1', 'ES512', claims(), { dsaEncoding: 'ieee-p1363' }))).resolves.toMatchObject({
        sub: 'alice',
      });
      const pss = { padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST };
      await expect(verifier.verify(nodeSigned('ps384-1', 'PS384', claims(), pss))).resolves.toMatchObject({ sub: 'alice' });
    });

    it('rejects PS384 with another salt length, and PKCS#1 v1.5 under PS384', async () => {
      const { verifier } = setup();
      await rejects(verifier, nodeSigned('ps384-1', 'PS384', claims(), { padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 20 }));
      await rejects(verifier, nodeSigned('ps384-1', 'PS384', claims()));
    });

    it('rejects an RSA key under 2048 bits even with a valid signature', async () => {
      const { verifier } = setup();
      await rejects(verifier, nodeSigned('rsa-1024', 'RS256', claims()));
    });

    it('rejects an Ed448 key under EdDSA (only Ed25519 is accepted)', async () => {
      const { verifier } = setup();
      await rejects(verifier, nodeSigned('ed448-1', 'EdDSA', claims()));
    });

    it('rejects an ECDSA signature in DER form or of the wrong length', async () => {
      const { verifier } = setup();
      await rejects(verifier, nodeSigned('ec521-1', 'ES512', claims(), { dsaEncoding: 'der' }));
      const [h, p, sig] = nodeSigned('ec521-1', 'ES512', claims(), { dsaEncoding: 'ieee-p1363' }).split('.') as [string, string, string];
      const bytes = Buffer.from(sig, 'base64url');
      await rejects(verifier, `${h}.${p}.${bytes.subarray(0, bytes.length - 1).toString('base64url')}`);
      await rejects(verifier, `${h}.${p}.${Buffer.concat([bytes, Buffer.alloc(1)]).toString('base64url')}`);
    });

    it('rejects segments that are not base64url of UTF-8 JSON (a dangling character, invalid UTF-8)', async () => {
      const { verifier } = setup();
      const token = await mint();
      const [h, p, s] = token.split('.') as [string, string, string];
      // 4n + 1 characters encode no whole byte
      await rejects(verifier, `${h}.${p}.${s}A`);
      await rejects(verifier, `${h}A.${p}.${s}`);
      const badUtf8 = Buffer.concat([Buffer.from('{"iss":"'), Buffer.from([0xff, 0xfe]), Buffer.from('"}')]).toString('base64url');
      await rejects(verifier, `${h}.${badUtf8}.${s}`);
    });

    it('never turns a __proto__ claim into the prototype of the claims', async () => {
      const { verifier } = setup();
      const payload = JSON.stringify(claims()).replace(/^\{/, '{"__proto__":{"polluted":true},');
      const input = `${base64url.encode(JSON.stringify({ alg: 'RS256', kid: 'rsa-1', typ: 'at+jwt' }))}.${base64url.encode(payload)}`;
      const sig = await crypto.subtle.sign('RSASSA-PKCS1-v1_5', rsa.privateKey, new TextEncoder().encode(input));
      const result = await verifier.verify(`${input}.${base64url.encode(new Uint8Array(sig))}`);
      expect(result).toBeInstanceOf(AccessTokenClaims);
      expect((result as Record<string, unknown>).polluted).toBeUndefined();
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    });
  });

  describe('BR-12 key injection via header, never fetched', () => {
    it('rejects jwk, jku, x5u and x5c headers and the canary gets 0 requests', async () => {
      const { verifier } = setup();
      canaryHits = 0;
      const jwks = jwksHits;
      const own = await makeKey('atk', 'RS256');
      await rejects(
        verifier,
        await mint({}, { jwk: { kty: own.publicJwk.kty, n: own.publicJwk.n, e: own.publicJwk.e }, kid: undefined }, own),
      );
      await rejects(verifier, await mint({}, { jku: `${canaryUrl}/jwks` }, own));
      await rejects(verifier, await mint({}, { x5u: `${canaryUrl}/cert.pem` }, own));
      await rejects(verifier, await mint({}, { x5c: ['MIIBszCCAVmgAwIBAgIUYWJj'] }, own));
      expect(canaryHits).toBe(0);
      expect(jwksHits).toBe(jwks);
    });
  });

  describe('BR-14 unsupported JOSE features', () => {
    it('rejects crit, b64:false, nested cty JWT and JWE (no decryption) quickly', async () => {
      const { verifier } = setup();
      const started = Date.now();
      // control: the raw signer produces tokens the verifier accepts
      await expect(verifier.verify(await signedRaw({ alg: 'RS256', kid: 'rsa-1', typ: 'at+jwt' }, claims()))).resolves.toBeDefined();
      await rejects(verifier, await signedRaw({ alg: 'RS256', kid: 'rsa-1', typ: 'at+jwt', crit: ['exp'], exp: 1 }, claims()));
      await rejects(verifier, await signedRaw({ alg: 'RS256', kid: 'rsa-1', typ: 'at+jwt', b64: false, crit: ['b64'] }, claims()));
      await rejects(verifier, await mint({}, { cty: 'JWT' }));
      const jwe = await new CompactEncrypt(new TextEncoder().encode(JSON.stringify(claims())))
        .setProtectedHeader({ alg: 'dir', enc: 'A256GCM' })
        .encrypt(await generateSecret('A256GCM'));
      expect(jwe.split('.')).toHaveLength(5);
      await rejects(verifier, jwe);
      const pbes2 = `${base64url.encode(JSON.stringify({ alg: 'PBES2-HS512+A256KW', enc: 'A256GCM', p2c: 2147483647, p2s: 'c2FsdHNhbHQ' }))}.a.b.c.d`;
      await rejects(verifier, pbes2);
      expect(Date.now() - started).toBeLessThan(500);
    });
  });

  describe('BR-15 malformed input', () => {
    it.each([
      ['two segments', 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhIn0'],
      ['four segments', 'a.b.c.d'],
      ['non-base64url characters', 'eyJhbGciOiJSUzI1NiJ9.eyJzd*IiOiJhIn0.c2ln'],
      ['padding', 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhIn0=.c2ln'],
      ['header not JSON', `${base64url.encode('not json')}.eyJzdWIiOiJhIn0.c2ln`],
      ['header a JSON array', `${base64url.encode('["RS256"]')}.eyJzdWIiOiJhIn0.c2ln`],
      ['a newline inside', 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIi\nOiJhIn0.c2ln'],
      ['a space inside', 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIi OiJhIn0.c2ln'],
      ['8 KB of dots', '.'.repeat(8192)],
      ['64 KB', 'a'.repeat(64 * 1024)],
      ['empty', ''],
    ])('rejects %s', async (_name, token) => {
      const { verifier } = setup();
      await rejects(verifier, token);
    });

    it('rejects a payload that is a JSON array', async () => {
      const { verifier } = setup();
      const token = await new SignJWT({}).setProtectedHeader({ alg: 'RS256', kid: 'rsa-1', typ: 'at+jwt' }).sign(rsa.privateKey);
      const [h, , s] = token.split('.');
      await rejects(verifier, `${h}.${base64url.encode('["a"]')}.${s}`);
    });
  });

  describe('BR-06 time claims with leeway L', () => {
    it('applies clockTolerance to exp, nbf and iat', async () => {
      const { verifier } = setup();
      const now = nowSeconds();
      await rejects(verifier, await mint({ exp: now - (L + 10) }));
      await expect(verifier.verify(await mint({ exp: now - (L - 10) }))).resolves.toBeDefined();
      await rejects(verifier, await mint({ exp: undefined }));
      await rejects(verifier, await mint({ exp: '9999999999' }));
      await rejects(verifier, await mint({ exp: 1e300 }));
      await rejects(verifier, await mint({ nbf: now + (L + 10) }));
      await expect(verifier.verify(await mint({ nbf: now + (L - 10) }))).resolves.toBeDefined();
      await rejects(verifier, await mint({ iat: now + (L + 60) }));
    });

    it('RS-08: exp at ±(L ± 5 s) — exactly the ones inside the window pass', async () => {
      const { verifier } = setup();
      const now = nowSeconds();
      await expect(verifier.verify(await mint({ exp: now - (L - 5) }))).resolves.toBeDefined();
      await rejects(verifier, await mint({ exp: now - (L + 5) }));
    });

    it('does not serve a cached token past its exp', async () => {
      const { verifier, clock } = setup();
      const token = await mint({ exp: nowSeconds() + 30 });
      await verifier.verify(token);
      clock.offsetMs = (30 + L + 5) * 1000;
      await rejects(verifier, token);
    });
  });

  describe('BR-07 required claims', () => {
    it.each(['sub', 'client_id', 'jti', 'iat'])('rejects an at+jwt without %s', async (claim) => {
      const { verifier } = setup();
      await rejects(verifier, await mint({ [claim]: undefined }));
    });

    it.each([
      ['sub as a number', { sub: 42 }],
      ['sub empty', { sub: '' }],
      ['client_id as an array', { client_id: [CLIENT_ID] }],
      ['jti as a number', { jti: 7 }],
      ['iat as a string', { iat: String(nowSeconds()) }],
      ['scope as an array', { scope: ['a'] }],
    ])('rejects %s', async (_name, overrides) => {
      const { verifier } = setup();
      await rejects(verifier, await mint(overrides));
    });
  });

  describe('BR-03 typ', () => {
    it('with requireJwtAccessTokenType: only at+jwt (any case, optional application/)', async () => {
      const { verifier } = setup({ requireJwtAccessTokenType: true });
      await rejects(verifier, await mint({}, { typ: 'JWT' }));
      await rejects(verifier, await mint({}, { typ: undefined }));
      await rejects(verifier, await mint({}, { typ: 'dpop+jwt' }));
    });

    it('by default: absent and JWT allowed (interop), any other token type refused', async () => {
      const { verifier } = setup();
      await expect(verifier.verify(await mint({ client_id: undefined, jti: undefined }, { typ: undefined }))).resolves.toBeDefined();
      await expect(verifier.verify(await mint({}, { typ: 'JWT' }))).resolves.toBeDefined();
      for (const typ of ['dpop+jwt', 'logout+jwt', 'id_token+jwt', 'secevent+jwt', 'application/jwt+x']) {
        await rejects(verifier, await mint({}, { typ }));
      }
    });

    it('refuses logout tokens and ID tokens even without a telling typ (token confusion)', async () => {
      const { verifier } = setup({ audience: [API, CLIENT_ID] });
      await rejects(verifier, await mint({ events: { 'http://schemas.openid.net/event/backchannel-logout': {} } }, { typ: 'JWT' }));
      await rejects(verifier, await mint({ aud: CLIENT_ID, nonce: 'n-0S6_WzA2Mj' }, { typ: undefined }));
      await rejects(verifier, await mint({ aud: [CLIENT_ID], at_hash: 'abc' }, { typ: 'JWT' }));
    });
  });

  describe('BR-05 aud / iss', () => {
    it('rejects a missing or foreign aud, a foreign or missing iss — and never fetches for a foreign issuer', async () => {
      const { verifier } = setup();
      await rejects(verifier, await mint({ aud: undefined }));
      await rejects(verifier, await mint({ aud: ['other'] }));
      canaryHits = 0;
      await rejects(verifier, await mint({ iss: canaryUrl }));
      await rejects(verifier, await mint({ iss: `${issuer}/` }));
      await rejects(verifier, await mint({ iss: undefined }));
      expect(canaryHits).toBe(0);
    });
  });

  describe('DPoP binding (RFC 9449)', () => {
    async function proofFor(token: string, key: CryptoKeyPair, overrides: Record<string, unknown> = {}) {
      const jwk = await exportJWK(key.publicKey);
      return new SignJWT({
        jti: randomUUID(),
        htm: 'GET',
        htu: 'https://app.example.com/orders',
        iat: nowSeconds(),
        ath: accessTokenHash(token),
        ...overrides,
      })
        .setProtectedHeader({ typ: 'dpop+jwt', alg: 'ES256', jwk })
        .sign(key.privateKey);
    }
    const request = { method: 'GET', url: 'https://app.example.com/orders' };

    async function boundToken(key: CryptoKeyPair) {
      const { calculateJwkThumbprint } = await import('jose');
      return mint({ cnf: { jkt: await calculateJwkThumbprint(await exportJWK(key.publicKey)) } });
    }

    it('DP-01: accepts a bound token with a matching proof; the proof is checked again when the token is cached', async () => {
      const { verifier } = setup();
      const key = await generateKeyPair('ES256');
      const token = await boundToken(key);
      await expect(verifier.verify(token, { ...request, dpopProof: await proofFor(token, key) })).resolves.toMatchObject({ sub: 'alice' });
      const stale = await proofFor(token, key, { htm: 'POST' });
      await expect(verifier.verify(token, { ...request, dpopProof: stale })).rejects.toMatchObject({ code: 'ERR_OIDC_INVALID_DPOP_PROOF' });
      await expect(verifier.verify(token, { ...request, dpopProof: await proofFor(token, key) })).resolves.toBeDefined();
    });

    it('DP-02: a DPoP-bound token used as a bearer token is refused, cached or not', async () => {
      const { verifier } = setup();
      const key = await generateKeyPair('ES256');
      const token = await boundToken(key);
      await rejects(verifier, token);
      await verifier.verify(token, { ...request, dpopProof: await proofFor(token, key) });
      await rejects(verifier, token);
    });

    it('DP-03 (d): an unbound token under the DPoP scheme is refused', async () => {
      const { verifier } = setup();
      const key = await generateKeyPair('ES256');
      const token = await mint();
      await expect(verifier.verify(token, { ...request, dpopProof: await proofFor(token, key) })).rejects.toMatchObject({
        code: 'ERR_OIDC_INVALID_TOKEN',
      });
    });

    it('DP-11: a proof by another key than cnf.jkt is refused', async () => {
      const { verifier } = setup();
      const token = await boundToken(await generateKeyPair('ES256'));
      const thief = await generateKeyPair('ES256');
      await expect(verifier.verify(token, { ...request, dpopProof: await proofFor(token, thief) })).rejects.toMatchObject({
        code: 'ERR_OIDC_INVALID_TOKEN',
      });
    });

    it('DP-09: the same proof twice is refused the second time; a failed request does not burn the jti', async () => {
      const { verifier } = setup();
      const key = await generateKeyPair('ES256');
      const token = await boundToken(key);
      const proof = await proofFor(token, key);
      await expect(verifier.verify(token, { method: 'POST', url: request.url, dpopProof: proof })).rejects.toMatchObject({
        code: 'ERR_OIDC_INVALID_DPOP_PROOF',
      });
      await expect(verifier.verify(token, { ...request, dpopProof: proof })).resolves.toBeDefined();
      await expect(verifier.verify(token, { ...request, dpopProof: proof })).rejects.toMatchObject({ code: 'ERR_OIDC_INVALID_DPOP_PROOF' });
    });

    it("dpop: 'required' refuses plain bearer tokens; 'disabled' refuses proofs", async () => {
      const key = await generateKeyPair('ES256');
      const required = setup({ dpop: 'required' }).verifier;
      await rejects(required, await mint());
      const token = await boundToken(key);
      await expect(required.verify(token, { ...request, dpopProof: await proofFor(token, key) })).resolves.toBeDefined();
      const disabled = setup({ dpop: 'disabled' }).verifier;
      await expect(disabled.verify(token, { ...request, dpopProof: await proofFor(token, key) })).rejects.toMatchObject({
        code: 'ERR_OIDC_INVALID_REQUEST',
      });
    });

    it('refuses a certificate-bound token (RFC 8705) it cannot check', async () => {
      const { verifier } = setup();
      await rejects(verifier, await mint({ cnf: { 'x5t#S256': 'abc' } }));
    });
  });

  describe('bearer.issuers as a per-request resolver (tenants)', () => {
    const byTenant = (req: unknown) => ((req as { tenant?: string } | undefined)?.tenant === 'a' ? [issuer] : [canaryUrl]);

    it('trusts only the issuers returned for this request; an untrusted issuer is never contacted', async () => {
      const { verifier } = setup({ issuers: byTenant });
      canaryHits = 0;
      const token = await mint();
      await expect(verifier.verify(token, { req: { tenant: 'a' } })).resolves.toMatchObject({ sub: 'alice', iss: issuer });
      // RFC 9068 §4: verified and cached for tenant a, still refused on a request of tenant b
      await expect(verifier.verify(token, { req: { tenant: 'b' } })).rejects.toMatchObject({ code: 'ERR_OIDC_INVALID_TOKEN' });
      await expect(verifier.verify(token)).rejects.toMatchObject({ code: 'ERR_OIDC_INVALID_TOKEN' });
      // a token naming the canary as issuer, on tenant a: refused before any discovery or JWKS request
      await expect(verifier.verify(await mint({ iss: canaryUrl }), { req: { tenant: 'a' } })).rejects.toMatchObject({
        code: 'ERR_OIDC_INVALID_TOKEN',
      });
      expect(canaryHits).toBe(0);
    });

    it('awaits an async resolver and hands it the request', async () => {
      const seen: unknown[] = [];
      const { verifier } = setup({
        issuers: async (req) => {
          seen.push(req);
          return [issuer];
        },
      });
      const req = { headers: { 'x-tenant': 'a' } };
      await expect(verifier.verify(await mint(), { req })).resolves.toBeDefined();
      expect(seen).toEqual([req]);
    });

    it.each([
      ['a string', () => issuer],
      ['an array with a number', () => [issuer, 1]],
      ['an array with an empty string', () => ['']],
      ['more than 100 issuers', () => Array.from({ length: 101 }, (_, i) => `https://t${i}.example`)],
    ])('is a TypeError when the resolver returns %s', async (_name, resolver) => {
      const { verifier } = setup({ issuers: resolver as unknown as () => string[] });
      await expect(verifier.verify(await mint(), { req: {} })).rejects.toBeInstanceOf(TypeError);
    });

    it('an empty list trusts nobody', async () => {
      const { verifier } = setup({ issuers: () => [] });
      await rejects(verifier, await mint());
    });
  });

  describe('opaque access tokens', () => {
    it('are refused with invalid_token when introspection is off', async () => {
      const { verifier } = setup();
      await rejects(verifier, 'mF_9.B5f-4.1JqM-opaque');
      await rejects(verifier, 'NzQ2YjY4ZGYtZDU0Ny00ZjQzLTk4NTEtMmE5ZTQ2NjE0ZjM0');
    });

    /** A verifier with introspection on, asking `introspector` (a stand-in for TokenIntrospector). */
    function introspectingVerifier(introspector: object): AccessTokenVerifier {
      const options = resolveOidcOptions({
        issuer,
        clientId: CLIENT_ID,
        clientSecret: 'client-secret',
        baseUrl: 'https://app.example.com',
        session: { secret: 'a-test-session-secret-of-at-least-32-characters' },
        bearer: { audience: API, introspection: true },
      });
      const clock = new TestClock();
      const discovery = { getMetadata: async () => ({ issuer, jwks_uri: `${issuer}/jwks` }) } as unknown as OidcDiscoveryService;
      return new AccessTokenVerifier(
        options,
        new JwksCache(options, discovery, clock),
        new DpopVerifier(options, clock, new MemoryReplayCache()),
        clock,
        introspector as never,
      );
    }

    it('go to introspection when it is on — and JWT-shaped tokens never do', async () => {
      const calls: Array<{ token: string; trusted: readonly string[] }> = [];
      const introspector = {
        introspect: async (token: string, trusted: readonly string[]) => {
          calls.push({ token, trusted });
          return {
            issuer,
            claims: Object.assign(new AccessTokenClaims(), { iss: issuer, sub: 'bob', scope: 'api:read', token_type: 'Bearer' }),
          };
        },
      };
      const verifier = introspectingVerifier(introspector);
      await expect(verifier.verify('NzQ2YjY4ZGYtZDU0Ny00ZjQz')).resolves.toMatchObject({ sub: 'bob' });
      expect(calls).toEqual([{ token: 'NzQ2YjY4ZGYtZDU0Ny00ZjQz', trusted: [issuer] }]);
      // a forged three-segment token is verified locally (and fails), never sent to the OP
      const [h, p] = (await mint()).split('.');
      await rejects(verifier, `${h}.${p}.${'A'.repeat(342)}`);
      expect(calls).toHaveLength(1);
      await rejects(verifier, '');
      expect(calls).toHaveLength(1);
    });

    it('apply the DPoP rules to an introspected cnf.jkt (RFC 9449 §6.2, §7.2)', async () => {
      const key = await generateKeyPair('ES256');
      const { calculateJwkThumbprint } = await import('jose');
      const jkt = await calculateJwkThumbprint(await exportJWK(key.publicKey));
      const introspector = {
        introspect: async () => ({
          issuer,
          claims: Object.assign(new AccessTokenClaims(), { iss: issuer, sub: 'bob', token_type: 'DPoP', cnf: { jkt } }),
        }),
      };
      const verifier = introspectingVerifier(introspector);
      const token = 'opaque-dpop-bound-token';
      await rejects(verifier, token);
      const proof = await new SignJWT({
        jti: randomUUID(),
        htm: 'GET',
        htu: 'https://app.example.com/orders',
        iat: nowSeconds(),
        ath: accessTokenHash(token),
      })
        .setProtectedHeader({ typ: 'dpop+jwt', alg: 'ES256', jwk: await exportJWK(key.publicKey) })
        .sign(key.privateKey);
      await expect(
        verifier.verify(token, { method: 'GET', url: 'https://app.example.com/orders', dpopProof: proof }),
      ).resolves.toMatchObject({ sub: 'bob' });
    });
  });

  it('is a TypeError to pass a DPoP proof without method and url', async () => {
    const { verifier } = setup();
    await expect(verifier.verify(await mint(), { dpopProof: 'x.y.z' })).rejects.toBeInstanceOf(TypeError);
  });
});
