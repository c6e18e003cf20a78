import { decodeProtectedHeader, jwtVerify, createLocalJWKSet } from 'jose';
import { createTestIssuer } from './test-issuer.js';

describe('createTestIssuer', () => {
  it('publishes discovery and a JWKS that verify its tokens, and rotateKeys replaces the key', async () => {
    const issuer = await createTestIssuer({ audience: 'https://api.test', clientId: 'c1' });
    try {
      const discovery = (await (await fetch(`${issuer.issuer}/.well-known/openid-configuration`)).json()) as Record<string, unknown>;
      expect(discovery).toMatchObject({ issuer: issuer.issuer, jwks_uri: `${issuer.issuer}/jwks` });
      const jwks = async () => createLocalJWKSet((await (await fetch(`${issuer.issuer}/jwks`)).json()) as never);

      const access = await issuer.signAccessToken({ scope: 'a b' });
      const { payload, protectedHeader } = await jwtVerify(access, await jwks(), { issuer: issuer.issuer, audience: 'https://api.test' });
      expect(protectedHeader.typ).toBe('at+jwt');
      expect(payload).toMatchObject({ sub: 'test-user', client_id: 'c1', scope: 'a b' });
      const id = await issuer.signIdToken({ sub: 'alice' });
      await expect(jwtVerify(id, await jwks(), { audience: 'c1' })).resolves.toBeDefined();

      await issuer.rotateKeys();
      await expect(jwtVerify(access, await jwks())).rejects.toThrow();
      const fresh = await issuer.signAccessToken();
      expect(decodeProtectedHeader(fresh).kid).not.toBe(protectedHeader.kid);
      await expect(jwtVerify(fresh, await jwks())).resolves.toBeDefined();
    } finally {
      await issuer.close();
    }
  });
});
