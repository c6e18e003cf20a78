/**
 * `nestjs-oidc/testing`: helpers for your own tests. Loaded only when imported; it needs Jest (`@jest/globals`).
 */
export { describeSessionStoreContract } from '../session/session-store.contract.js';
