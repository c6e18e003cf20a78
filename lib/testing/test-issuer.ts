import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type JWK, type JWTPayload } from 'jose';

/** Options of {@link createTestIssuer}. */
export interface TestIssuerOptions {
  /** The `aud` of access tokens unless a token says otherwise: your `bearer.audience`. @default 'https://api.test' */
  audience?: string;
  /** The client ID tokens are issued to (`client_id`, and the `aud` of ID tokens). @default 'test-client' */
  clientId?: string;
  /** The signing algorithm. @default 'ES256' */
  alg?: 'ES256' | 'RS256' | 'PS256' | 'EdDSA';
}

/** How {@link TestIssuer.signAccessToken} and {@link TestIssuer.signIdToken} sign. */
export interface TestSignOptions {
  /** Seconds until `exp` (negative for an expired token). @default 300 */
  expiresIn?: number;
  /** Extra or replaced protected-header members (`typ`, `kid`, …) — for testing your app's refusals. */
  header?: Record<string, unknown>;
}

/** A real OpenID Provider for tests: discovery and JWKS on 127.0.0.1, tokens signed with its current key. */
export interface TestIssuer {
  /** The issuer URL (`http://127.0.0.1:<port>`): your `issuer` option. */
  readonly issuer: string;
  /** An RFC 9068 access token: `iss`, `sub` ('test-user'), `aud`, `client_id`, `iat`, `exp`, `jti`, then `claims`. */
  signAccessToken(claims?: Record<string, unknown>, options?: TestSignOptions): Promise<string>;
  /** An ID token for `clientId`: `iss`, `sub`, `aud`, `iat`, `exp`, then `claims`. */
  signIdToken(claims?: Record<string, unknown>, options?: TestSignOptions): Promise<string>;
  /** Publishes a new signing key in place of the current one (tokens signed before stop verifying once refetched). */
  rotateKeys(): Promise<void>;
  close(): Promise<void>;
}

interface SigningKey {
  privateKey: CryptoKey;
  publicJwk: JWK;
}

async function newKey(alg: string): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const kid = randomUUID();
  return { privateKey, publicJwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' } };
}

/**
 * Starts a {@link TestIssuer}: a real issuer for Bearer-token tests of your app — point `issuer` (and
 * `bearer.audience`) at it and send `Authorization: Bearer ${await issuer.signAccessToken({ scope: 'orders:read' })}`.
 *
 * @example
 * ```ts
 * const issuer = await createTestIssuer({ audience: 'https://api.example.com' });
 * const token = await issuer.signAccessToken({ scope: 'orders:read' });
 * ```
 */
export async function createTestIssuer(options: TestIssuerOptions = {}): Promise<TestIssuer> {
  const alg = options.alg ?? 'ES256';
  const audience = options.audience ?? 'https://api.test';
  const clientId = options.clientId ?? 'test-client';
  let key = await newKey(alg);
  let issuer = '';
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const json = (body: unknown) => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify(body));
    };
    if (path === '/.well-known/openid-configuration') {
      json({
        issuer,
        jwks_uri: `${issuer}/jwks`,
        authorization_endpoint: `${issuer}/authorize`,
        token_endpoint: `${issuer}/token`,
        response_types_supported: ['code'],
        subject_types_supported: ['public'],
        id_token_signing_alg_values_supported: [alg],
      });
    } else if (path === '/jwks') {
      json({ keys: [key.publicJwk] });
    } else {
      res.statusCode = 404;
      res.end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const sign = (payload: JWTPayload, typ: string, signOptions: TestSignOptions = {}) => {
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({ iat: now, exp: now + (signOptions.expiresIn ?? 300), ...payload })
      .setProtectedHeader({ alg, kid: key.publicJwk.kid, typ, ...signOptions.header })
      .sign(key.privateKey);
  };

  return {
    issuer,
    signAccessToken: (claims = {}, signOptions) =>
      sign({ iss: issuer, sub: 'test-user', aud: audience, client_id: clientId, jti: randomUUID(), ...claims }, 'at+jwt', signOptions),
    signIdToken: (claims = {}, signOptions) => sign({ iss: issuer, sub: 'test-user', aud: clientId, ...claims }, 'JWT', signOptions),
    async rotateKeys() {
      key = await newKey(alg);
    },
    close: () => new Promise<void>((resolve, reject) => server.close((err) => (err ? reject(err) : resolve()))),
  };
}
