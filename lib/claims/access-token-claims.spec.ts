import { validateSync } from 'class-validator';
import fc from 'fast-check';
import { AccessTokenClaims, hasAccessTokenClaimsShape } from './access-token-claims.js';

/** What toClaims asks class-validator. */
function classValidatorAccepts(claims: Record<string, unknown>): boolean {
  const instance = Object.assign(new AccessTokenClaims(), claims);
  return validateSync(instance, { forbidUnknownValues: false, whitelist: false, skipMissingProperties: false }).length === 0;
}

const value = fc.oneof(
  fc.constantFrom('', 'x', 'https://op.example.com', ' ', null, undefined, 0, 1.5, -1, NaN, Infinity, -Infinity, true, false),
  fc.string(),
  fc.double(),
  fc.array(fc.oneof(fc.constantFrom('', 'api', null, 3), fc.string()), { maxLength: 3 }),
  fc.dictionary(fc.string(), fc.string(), { maxKeys: 2 }),
);
const member = fc.constantFrom('iss', 'sub', 'aud', 'exp', 'iat', 'client_id', 'jti', 'scope', 'other');

describe('hasAccessTokenClaimsShape', () => {
  it('agrees with class-validator on AccessTokenClaims for generated claim sets', () => {
    const valid = { iss: 'https://op.example.com', sub: 'alice', aud: 'api', exp: 2e9 };
    fc.assert(
      fc.property(fc.dictionary(member, value, { maxKeys: 9 }), fc.boolean(), (generated, fromValid) => {
        const claims = fromValid ? { ...valid, ...generated } : generated;
        expect(hasAccessTokenClaimsShape(claims)).toBe(classValidatorAccepts(claims));
      }),
      { numRuns: Number(process.env.FUZZ_RUNS ?? 2000) },
    );
  });

  it('accepts a typical RFC 9068 claim set and refuses the usual wrong shapes', () => {
    const good = { iss: 'https://op', sub: 'a', aud: ['api', 'other'], exp: 2e9, iat: 1e9, client_id: 'c', jti: 'j', scope: 'read' };
    expect(hasAccessTokenClaimsShape(good)).toBe(true);
    for (const bad of [{ sub: 1 }, { aud: [] }, { aud: ['api', ''] }, { exp: '2e9' }, { scope: ['read'] }, { iss: '' }]) {
      expect(hasAccessTokenClaimsShape({ ...good, ...bad })).toBe(false);
    }
  });
});
