import type { ResolvedOidcOptions } from '../config/resolve-oidc-options.js';
import { invalidToken } from '../errors/oidc.error.js';

/** The trusted issuer URL a token's `iss` stands for (`bearer.issuerAliases`), else the `iss` itself. */
export function canonicalIssuer(iss: string, options: ResolvedOidcOptions): string {
  return options.bearer?.issuerAliases?.get(iss) ?? iss;
}

/**
 * The module's one issuer-trust check, for JWT and introspected access tokens alike: `issuer` must be exactly one
 * of the issuers trusted for the request at hand (RFC 9068 §4, RFC 7662 §2.2, RFC 8725 §3.8 — no prefix or case
 * games), and is checked before any key fetch or introspection call, so an untrusted issuer makes this server
 * call nowhere.
 */
export function checkTrustedIssuer(issuer: string | undefined, trusted: readonly string[]): asserts issuer is string {
  if (issuer === undefined || !trusted.includes(issuer)) throw invalidToken('The access token issuer is not trusted.');
}
