import { OidcError } from '../errors/oidc.error.js';
import { authorizationScheme, parseAuthorization } from './oidc-authenticator.js';
import { bearerChallenges } from '../http/error-response.js';

const bearer = (dpop: 'disabled' | 'allowed' | 'required') => ({
  audience: ['https://api.example.test'],
  issuers: ['https://op.example.com'],
  algorithms: ['ES256', 'RS256'],
  requireJwtAccessTokenType: false,
  introspection: false,
  identityClaims: new Map<string, string>(),
  dpop,
  cache: { maxEntries: 10, introspectionTtl: 60 },
});

describe('parseAuthorization (RFC 6750 §2.1, RFC 9449 §7.1, RFC 9110 §11.1)', () => {
  it.each([
    ['Bearer abc.def.ghi', 'bearer'],
    ['bearer abc.def.ghi', 'bearer'],
    ['BEARER abc.def.ghi', 'bearer'],
    ['DPoP abc.def.ghi', 'dpop'],
    ['DPOP abc.def.ghi', 'dpop'],
    ['dpop abc.def-_~+/ghi==', 'dpop'],
  ])('accepts %s', (header, scheme) => {
    expect(parseAuthorization(header).scheme).toBe(scheme);
  });

  it.each([
    'Bearer',
    'Bearer ',
    'Bearer a b',
    'Basic dXNlcjpwYXNz',
    'Bearer "abc"',
    'Bearer a,b',
    'Bearer=abc',
    'Token abc',
    ' Bearer abc',
    'Bearer abc\n',
  ])('refuses %j with ERR_OIDC_INVALID_REQUEST', (header) => {
    expect(() => parseAuthorization(header)).toThrow(expect.objectContaining({ code: 'ERR_OIDC_INVALID_REQUEST' }));
  });

  it('reads the scheme leniently for choosing a challenge', () => {
    expect(authorizationScheme('DPoP')).toBe('dpop');
    expect(authorizationScheme('bearer a b')).toBe('bearer');
    expect(authorizationScheme('Basic x')).toBeUndefined();
    expect(authorizationScheme(undefined)).toBeUndefined();
  });
});

describe('bearerChallenges (RFC 6750 §3, RFC 9449 §7.1)', () => {
  const realm = 'app.example.com';
  const err = (
    code:
      | 'ERR_OIDC_UNAUTHENTICATED'
      | 'ERR_OIDC_INVALID_TOKEN'
      | 'ERR_OIDC_INVALID_DPOP_PROOF'
      | 'ERR_OIDC_INVALID_REQUEST'
      | 'ERR_OIDC_INSUFFICIENT_SCOPE'
      | 'ERR_OIDC_FORBIDDEN',
  ) => new OidcError(code, 'Why it failed.');

  it('advertises both schemes without an error code when credentials are missing and DPoP is allowed', () => {
    expect(bearerChallenges({ err: err('ERR_OIDC_UNAUTHENTICATED'), realm, bearer: bearer('allowed'), scheme: undefined })).toEqual([
      'Bearer realm="app.example.com"',
      'DPoP algs="ES256 RS256"',
    ]);
    expect(bearerChallenges({ err: err('ERR_OIDC_UNAUTHENTICATED'), realm, bearer: bearer('required'), scheme: undefined })).toEqual([
      'DPoP algs="ES256 RS256"',
    ]);
    expect(
      bearerChallenges({ err: err('ERR_OIDC_UNAUTHENTICATED'), realm, bearer: bearer('disabled'), scheme: undefined }),
    ).toBeUndefined();
  });

  it('puts the error in the challenge of the scheme used, and advertises the other', () => {
    expect(bearerChallenges({ err: err('ERR_OIDC_INVALID_TOKEN'), realm, bearer: bearer('allowed'), scheme: 'bearer' })).toEqual([
      'Bearer realm="app.example.com", error="invalid_token", error_description="Why it failed."',
      'DPoP algs="ES256 RS256"',
    ]);
    expect(bearerChallenges({ err: err('ERR_OIDC_INVALID_TOKEN'), realm, bearer: bearer('allowed'), scheme: 'dpop' })).toEqual([
      'DPoP error="invalid_token", algs="ES256 RS256", error_description="Why it failed."',
      'Bearer realm="app.example.com"',
    ]);
    expect(bearerChallenges({ err: err('ERR_OIDC_INVALID_DPOP_PROOF'), realm, bearer: bearer('required'), scheme: 'dpop' })).toEqual([
      'DPoP error="invalid_dpop_proof", algs="ES256 RS256", error_description="Why it failed."',
    ]);
    // DPoP disabled: a DPoP request is told about Bearer only
    expect(bearerChallenges({ err: err('ERR_OIDC_INVALID_REQUEST'), realm, bearer: bearer('disabled'), scheme: 'dpop' })).toEqual([
      'Bearer realm="app.example.com", error="invalid_request", error_description="Why it failed."',
    ]);
    expect(bearerChallenges({ err: err('ERR_OIDC_INVALID_REQUEST'), realm, bearer: bearer('disabled'), scheme: undefined })).toEqual([
      'Bearer realm="app.example.com", error="invalid_request", error_description="Why it failed."',
    ]);
  });

  it('carries the scope of insufficient_scope; leaves other errors to the default', () => {
    expect(
      bearerChallenges({ err: err('ERR_OIDC_INSUFFICIENT_SCOPE'), realm, bearer: bearer('allowed'), scheme: 'dpop', scope: 'orders:read' }),
    ).toEqual([
      'DPoP error="insufficient_scope", algs="ES256 RS256", error_description="Why it failed.", scope="orders:read"',
      'Bearer realm="app.example.com"',
    ]);
    expect(bearerChallenges({ err: err('ERR_OIDC_FORBIDDEN'), realm, bearer: bearer('allowed'), scheme: 'bearer' })).toBeUndefined();
  });
});
