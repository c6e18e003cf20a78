import { readClaimPath, readRoles, readScopes } from './oidc-user.js';

describe('readRoles', () => {
  it('returns [] when no source is configured', () => {
    expect(readRoles({ roles: ['admin'] }, undefined)).toEqual([]);
  });

  it('reads a top-level claim', () => {
    expect(readRoles({ roles: ['admin', 'user'] }, 'roles')).toEqual(['admin', 'user']);
  });

  it('follows a dotted path (realm_access.roles)', () => {
    const claims = { realm_access: { roles: ['admin', 'offline_access'] } };
    expect(readRoles(claims, 'realm_access.roles')).toEqual(['admin', 'offline_access']);
  });

  it('follows a deeper dotted path', () => {
    const claims = { resource_access: { api: { roles: ['writer'] } } };
    expect(readRoles(claims, 'resource_access.api.roles')).toEqual(['writer']);
  });

  it('returns [] when the path does not exist', () => {
    expect(readRoles({ realm_access: {} }, 'realm_access.roles')).toEqual([]);
    expect(readRoles({}, 'realm_access.roles')).toEqual([]);
    expect(readRoles({ realm_access: null }, 'realm_access.roles')).toEqual([]);
    expect(readRoles({ realm_access: 'admin' }, 'realm_access.roles')).toEqual([]);
  });

  it('calls a function source with the claims', () => {
    const claims = { groups: ['g1', 'g2'] };
    expect(readRoles(claims, (c) => (c.groups as string[]).map((g) => `role:${g}`))).toEqual(['role:g1', 'role:g2']);
  });

  it('splits a space-separated string value', () => {
    expect(readRoles({ roles: 'admin  user editor ' }, 'roles')).toEqual(['admin', 'user', 'editor']);
  });

  it('keeps only the strings of an array', () => {
    expect(readRoles({ roles: ['admin', 1, null, { x: 1 }, 'user'] }, 'roles')).toEqual(['admin', 'user']);
  });

  it('drops non-strings a function source returns', () => {
    expect(readRoles({}, () => ['a', 2 as unknown as string])).toEqual(['a']);
  });

  it.each([[42], [true], [{ admin: true }], [null]])('returns [] for the non-array value %p', (value) => {
    expect(readRoles({ roles: value }, 'roles')).toEqual([]);
  });

  it('does not follow __proto__ in a path', () => {
    const claims = Object.create({ roles: ['inherited-admin'] }) as Record<string, unknown>;
    expect(readRoles(claims, '__proto__.roles')).toEqual([]);
  });

  it('does not read inherited properties (constructor.name, toString)', () => {
    expect(readRoles({}, 'constructor.name')).toEqual([]);
    expect(readRoles({}, 'toString')).toEqual([]);
    const claims = Object.create({ roles: ['inherited-admin'] }) as Record<string, unknown>;
    expect(readRoles(claims, 'roles')).toEqual([]);
  });

  it('does not index into arrays along the path', () => {
    expect(readRoles({ groups: [['admin']] }, 'groups.0')).toEqual([]);
  });
});

describe('readScopes', () => {
  it('splits a scope string (RFC 6749 §3.3)', () => {
    expect(readScopes('openid profile  email')).toEqual(['openid', 'profile', 'email']);
  });

  it('reads an scp array', () => {
    expect(readScopes(undefined, ['read', 'write', 3])).toEqual(['read', 'write']);
  });

  it('reads an scp string', () => {
    expect(readScopes(undefined, 'read write')).toEqual(['read', 'write']);
  });

  it('prefers scope over scp', () => {
    expect(readScopes('a b', ['c'])).toEqual(['a', 'b']);
  });

  it('returns [] when neither is usable', () => {
    expect(readScopes(undefined)).toEqual([]);
    expect(readScopes(42, { read: true })).toEqual([]);
    expect(readScopes('')).toEqual([]);
  });
});

describe('claim paths with dots (Auth0 namespaced claims, Keycloak client ids)', () => {
  const claims = {
    'https://example.com/roles': ['admin'],
    realm_access: { roles: ['realm-user'] },
    resource_access: { 'my.client': { roles: ['client-admin'] }, my: { client: { roles: ['wrong'] } } },
    'a.b': 'exact',
    a: { b: 'dotted' },
  };

  it('an exact top-level claim name wins over the dotted reading', () => {
    expect(readRoles(claims, 'https://example.com/roles')).toEqual(['admin']);
    expect(readClaimPath(claims, 'a.b')).toBe('exact');
  });

  it('a dotted path still walks nested claims', () => {
    expect(readRoles(claims, 'realm_access.roles')).toEqual(['realm-user']);
  });

  it('an array path is unambiguous for names with dots', () => {
    expect(readRoles(claims, ['resource_access', 'my.client', 'roles'])).toEqual(['client-admin']);
    expect(readClaimPath(claims, ['a', 'b'])).toBe('dotted');
  });

  it('never reads through the prototype', () => {
    expect(readClaimPath(claims, ['constructor', 'name'])).toBeUndefined();
    expect(readClaimPath(claims, '__proto__')).toBeUndefined();
  });
});
