import { AccessTokenClaims } from '../claims/access-token-claims.js';
import { resolveOidcOptions } from '../config/resolve-oidc-options.js';
import { bearerUser, readIdentity } from './oidc-authenticator.js';

const GOOGLE = 'https://accounts.google.com';
const GITHUB = 'https://token.actions.githubusercontent.com';
const DEX = 'https://dex.example.com';

describe('OidcUser.identity from bearer.identityClaims', () => {
  const claims = new Map([
    [GOOGLE, 'email'],
    [GITHUB, 'sub'],
    [DEX, 'email'],
  ]);

  it('is the configured claim of the token issuer', () => {
    expect(readIdentity({ sub: '1', email: 'alice@example.com' }, GOOGLE, claims)).toBe('alice@example.com');
    expect(readIdentity({ sub: 'repo:acme/api:ref:refs/heads/main' }, GITHUB, claims)).toBe('repo:acme/api:ref:refs/heads/main');
  });

  it('is undefined for an issuer without a configured claim, a missing claim or a non-string value', () => {
    expect(readIdentity({ email: 'a@example.com' }, 'https://other.example', claims)).toBeUndefined();
    expect(readIdentity({ sub: '1' }, GOOGLE, claims)).toBeUndefined();
    expect(readIdentity({ email: ['a@example.com'] }, GOOGLE, claims)).toBeUndefined();
    expect(readIdentity({ email: '' }, GOOGLE, claims)).toBeUndefined();
  });

  it('reads a dotted path through own properties only', () => {
    const map = new Map([[DEX, 'federated_claims.user_id']]);
    expect(readIdentity({ federated_claims: { connector_id: 'github', user_id: '42' } }, DEX, map)).toBe('github:42');
    expect(readIdentity({ federated_claims: Object.create({ user_id: 'inherited' }) }, DEX, map)).toBeUndefined();
    expect(readIdentity({}, DEX, new Map([[DEX, 'constructor.name']]))).toBeUndefined();
  });

  it('prefixes the Dex connector, so one e-mail through two upstream providers is two identities', () => {
    const viaGithub = readIdentity({ email: 'alice@example.com', federated_claims: { connector_id: 'github', user_id: '1' } }, DEX, claims);
    const viaLdap = readIdentity(
      { email: 'alice@example.com', federated_claims: { connector_id: 'ldap', user_id: 'uid=alice' } },
      DEX,
      claims,
    );
    expect(viaGithub).toBe('github:alice@example.com');
    expect(viaLdap).toBe('ldap:alice@example.com');
  });

  it('gives no identity when the connector id is not a plain token (no ambiguous "a:b:c")', () => {
    for (const connector_id of ['a:b', '', 7, 'has space']) {
      expect(readIdentity({ email: 'c', federated_claims: { connector_id } }, DEX, claims)).toBeUndefined();
    }
  });

  it('reaches OidcUser through bearerUser, and stays absent when not configured', () => {
    const options = resolveOidcOptions({
      issuer: GOOGLE,
      clientId: 'c',
      baseUrl: 'https://app.example.com',
      session: { secret: 'a'.repeat(32) },
      bearer: { audience: 'api', identityClaims: { [GOOGLE]: 'email' } },
    });
    const token = Object.assign(new AccessTokenClaims(), {
      iss: GOOGLE,
      sub: '1',
      aud: 'api',
      exp: 2e9,
      email: 'alice@example.com',
      scope: 'a b',
    });
    expect(bearerUser(token, options, 'bearer')).toMatchObject({
      sub: '1',
      issuer: GOOGLE,
      identity: 'alice@example.com',
      scopes: ['a', 'b'],
    });
    const other = Object.assign(new AccessTokenClaims(), { ...token, iss: 'https://other.example' });
    expect(bearerUser(other, options, 'bearer')).not.toHaveProperty('identity');
  });
});

describe('bearerUser', () => {
  const options = resolveOidcOptions({
    issuer: GOOGLE,
    clientId: 'c',
    baseUrl: 'https://app.example.com',
    session: { secret: 'a'.repeat(32) },
    roles: { claim: 'realm_access.roles' },
    bearer: { audience: 'api', identityClaims: { [GOOGLE]: 'email' } },
  });
  const base = {
    iss: GOOGLE,
    sub: '1',
    aud: 'api',
    exp: 2e9,
    email: 'alice@example.com',
    scope: 'a b',
    realm_access: { roles: ['admin'] },
  };
  const deepFrozen = <T extends object>(value: T): T => {
    for (const member of Object.values(value)) if (typeof member === 'object' && member !== null) deepFrozen(member as object);
    return Object.freeze(value);
  };

  it('shares frozen claims, scopes and roles between the users of the same frozen claims', () => {
    const claims = deepFrozen(Object.assign(new AccessTokenClaims(), structuredClone(base)));
    const first = bearerUser(claims, options, 'bearer');
    const second = bearerUser(claims, options, 'dpop');
    expect(first).not.toBe(second);
    expect(second.authMethod).toBe('dpop');
    expect(second.claims).toBe(first.claims);
    expect(second.scopes).toBe(first.scopes);
    expect(first).toMatchObject({
      sub: '1',
      issuer: GOOGLE,
      identity: 'alice@example.com',
      scopes: ['a', 'b'],
      roles: ['admin'],
      expiresAt: 2e9,
    });
    expect(first.accessTokenClaims).toBe(claims);
    for (const part of [first.claims, first.scopes, first.roles, first.claims.realm_access]) expect(Object.isFrozen(part)).toBe(true);
    // the user object itself is the request's own
    first.identity = 'changed';
    expect(bearerUser(claims, options, 'bearer').identity).toBe('alice@example.com');
  });

  it('builds unfrozen parts afresh from claims that are not frozen (and leaves those claims alone)', () => {
    const claims = Object.assign(new AccessTokenClaims(), structuredClone(base));
    const first = bearerUser(claims, options, 'bearer');
    const second = bearerUser(claims, options, 'bearer');
    expect(second.claims).not.toBe(first.claims);
    expect(Object.isFrozen(first.claims)).toBe(false);
    expect(Object.isFrozen(first.scopes)).toBe(false);
    expect(Object.isFrozen(claims.realm_access)).toBe(false);
    expect(first).toMatchObject({ sub: '1', scopes: ['a', 'b'], roles: ['admin'], identity: 'alice@example.com' });
  });

  it('does not reuse parts built under other options', () => {
    const claims = deepFrozen(Object.assign(new AccessTokenClaims(), structuredClone(base)));
    expect(bearerUser(claims, options, 'bearer').roles).toEqual(['admin']);
    const noRoles = resolveOidcOptions({
      issuer: GOOGLE,
      clientId: 'c',
      baseUrl: 'https://app.example.com',
      session: { secret: 'a'.repeat(32) },
      bearer: { audience: 'api' },
    });
    expect(bearerUser(claims, noRoles, 'bearer')).toMatchObject({ roles: [] });
    expect(bearerUser(claims, noRoles, 'bearer')).not.toHaveProperty('identity');
  });
});
