// Access-token minting for the bearer benchmark (bench/bearer.mjs): RFC 9068 JWTs signed with node:crypto
// (synchronous, several times faster than WebCrypto for bulk signing). Also a worker_threads entry point:
// workerData `{ jwk, iss, count, prefix }` → posts back an array of `count` tokens.
import { createPrivateKey, randomBytes, randomUUID, sign } from 'node:crypto';
import { isMainThread, parentPort, workerData } from 'node:worker_threads';

export const AUDIENCE = 'https://api.bench';

const b64u = (value) => Buffer.from(value).toString('base64url');

/** A function minting one valid token per call with the private JWK `jwk` (with `kid` and `alg`). */
export function tokenMinter(jwk, iss, prefix = 'u') {
  const key = createPrivateKey({ key: jwk, format: 'jwk' });
  const signKey = jwk.alg === 'ES256' ? { key, dsaEncoding: 'ieee-p1363' } : key;
  const header = b64u(JSON.stringify({ alg: jwk.alg, typ: 'at+jwt', kid: jwk.kid }));
  let n = 0;
  return () => {
    const iat = Math.floor(Date.now() / 1000);
    n += 1;
    const payload = b64u(
      JSON.stringify({
        iss,
        aud: AUDIENCE,
        sub: `${prefix}-${n}`,
        client_id: 'bench-client',
        jti: randomUUID(),
        iat,
        exp: iat + 3600,
        scope: 'orders:read orders:write',
      }),
    );
    const input = `${header}.${payload}`;
    return `${input}.${b64u(sign('sha256', Buffer.from(input), signKey))}`;
  };
}

/** A well-formed RS256 token with a random `kid` and a random (invalid) 2048-bit signature. */
export function unknownKidToken(iss) {
  const iat = Math.floor(Date.now() / 1000);
  const header = b64u(JSON.stringify({ alg: 'RS256', typ: 'at+jwt', kid: randomBytes(12).toString('base64url') }));
  const payload = b64u(
    JSON.stringify({
      iss,
      aud: AUDIENCE,
      sub: 'forger',
      client_id: 'bench-client',
      jti: randomUUID(),
      iat,
      exp: iat + 3600,
      scope: 'orders:read',
    }),
  );
  return `${header}.${payload}.${b64u(randomBytes(256))}`;
}

if (!isMainThread && workerData?.jwk) {
  const mint = tokenMinter(workerData.jwk, workerData.iss, workerData.prefix);
  const tokens = new Array(workerData.count);
  for (let i = 0; i < workerData.count; i++) tokens[i] = mint();
  parentPort.postMessage(tokens);
}
