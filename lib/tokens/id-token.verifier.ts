import { Inject, Injectable } from '@nestjs/common';
import { compactVerify, decodeJwt, decodeProtectedHeader, errors as joseErrors } from 'jose';
import { JwksCache } from '../keys/jwks.cache.js';
import { CLIENT_SECRET_ALGORITHMS, type ResolvedOidcOptions } from '../config/resolve-oidc-options.js';
import { OidcDiscoveryService } from '../discovery/oidc-discovery.service.js';
import { logText } from '../errors/log-text.js';
import { OidcError } from '../errors/oidc.error.js';
import { OIDC_OPTIONS } from '../oidc.constants.js';

/** RFC 7515 §4.1.9 / RFC 8725 §3.11: the `typ` values an ID token may carry (compared case-insensitively). */
const ID_TOKEN_TYPES = new Set(['jwt', 'application/jwt']);

function invalid(message: string, cause?: unknown): OidcError {
  return new OidcError('ERR_OIDC_INVALID_RESPONSE', message, { cause });
}

/**
 * The signature half of ID token validation (OIDC Core §3.1.3.7 steps 6–7), for the code grant and for
 * refreshes; openid-client checks the claims (iss, aud, azp, exp, iat, nonce, auth_time). Asymmetric keys
 * come from {@link JwksCache} — the same keys, refetch and cooldown as logout and access tokens — so a key
 * rotation reaches logins as soon as any token has made the module fetch it. `HS*` (OIDC Core §10.1) is
 * verified with the client secret, only when `idTokenSigningAlg` says so.
 */
@Injectable()
export class IdTokenVerifier {
  constructor(
    @Inject(OIDC_OPTIONS) private readonly options: ResolvedOidcOptions,
    private readonly discovery: OidcDiscoveryService,
    private readonly jwks: JwksCache,
  ) {}

  /** Resolves when `idToken`'s header and signature are what this client expects; throws a 401 otherwise. */
  async verify(idToken: string): Promise<void> {
    const expected = await this.discovery.getIdTokenAlgorithm();
    let header: Record<string, unknown>;
    let payload: Record<string, unknown>;
    try {
      header = decodeProtectedHeader(idToken) as Record<string, unknown>;
      payload = decodeJwt(idToken) as Record<string, unknown>;
    } catch (err) {
      throw invalid('The ID token is not a signed JWT.', err);
    }
    const alg = typeof header.alg === 'string' ? header.alg : '(none)';
    const kid = typeof header.kid === 'string' ? header.kid : undefined;
    // OIDC Core §3.1.3.7 step 7, RFC 8725 §3.1: exactly the pinned algorithm; `none` never.
    if (alg !== expected) throw invalid(this.algorithmMismatch(alg, expected));
    // RFC 8725 §3.10: keys come only from the OP's jwks_uri (or the client secret), never from the token.
    for (const member of ['jku', 'x5u', 'jwk', 'x5c']) {
      if (member in header)
        throw invalid(`The ID token carries a "${member}" header; keys are taken only from the OP's jwks_uri (RFC 8725 §3.10).`);
    }
    // RFC 8725 §3.11: an explicitly typed access token or logout token is not an ID token.
    if (header.typ !== undefined && (typeof header.typ !== 'string' || !ID_TOKEN_TYPES.has(header.typ.toLowerCase()))) {
      throw invalid(`The ID token has typ "${logText(header.typ, 40)}": another kind of token (RFC 8725 §3.11).`);
    }
    // Back-Channel Logout §2.4 / RFC 8417: a token with `events` is a security event (logout) token.
    if ('events' in payload)
      throw invalid('The ID token carries an "events" claim: it is a logout token, not an ID token (RFC 8725 §3.11).');

    if ((CLIENT_SECRET_ALGORITHMS as readonly string[]).includes(alg)) {
      try {
        await compactVerify(idToken, new TextEncoder().encode(this.options.clientSecret!), { algorithms: [alg] });
      } catch (err) {
        const reason =
          err instanceof joseErrors.JWSSignatureVerificationFailed ? 'does not verify with the client secret' : 'is not a valid JWS';
        throw invalid(`The ID token's ${alg} signature ${reason} (OIDC Core §10.1); check clientSecret.`, err);
      }
      return;
    }
    try {
      await this.jwks.verifiedKey(idToken, this.discovery.issuer, alg, kid, 'The ID token');
    } catch (err) {
      // Keys never fetched: at the callback the OP's broken answer itself (502 / 504) says more than "later".
      const cause = err instanceof OidcError && err.code === 'ERR_OIDC_KEYS_UNAVAILABLE' ? err.cause : undefined;
      throw cause instanceof OidcError ? cause : err;
    }
  }

  private algorithmMismatch(found: string, expected: string): string {
    const f = logText(found, 20);
    if ((CLIENT_SECRET_ALGORITHMS as readonly string[]).includes(found)) {
      return `The ID token is signed with ${f}, but ${expected} is expected. If your OP signs ID tokens with the client secret, set idTokenSigningAlg: '${f}' (OIDC Core §10.1).`;
    }
    return `The ID token is signed with ${f}, but ${expected} is expected (idTokenSigningAlg${this.options.idTokenSigningAlg ? '' : ", by default the OP's advertised asymmetric algorithm"}). Set idTokenSigningAlg to the algorithm your OP signs ID tokens with.`;
  }
}
