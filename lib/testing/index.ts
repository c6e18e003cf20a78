/**
 * `nestjs-oidc/testing`: for your own tests only. It refuses to load with `NODE_ENV=production`, so it cannot end up
 * serving real traffic by accident (it mints sessions and tokens on demand).
 */
if (process.env.NODE_ENV === 'production') {
  throw new Error('nestjs-oidc/testing is for tests: it refuses to load with NODE_ENV=production.');
}

export { createTestIssuer, type TestIssuer, type TestIssuerOptions, type TestSignOptions } from './test-issuer.js';
export { sessionCookieFor, type SessionCookieOptions } from './session-cookie.js';
export { describeSessionStoreContract } from '../session/session-store.contract.js';
