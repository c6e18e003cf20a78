import { Inject, Injectable, Logger, Optional } from '@nestjs/common';
import { decodeProtectedHeader, errors as joseErrors, jwtVerify } from 'jose';
import type { ReplayCache } from '../cache/replay-cache.js';
import { CLIENT_SECRET_ALGORITHMS, type ResolvedOidcOptions } from '../config/resolve-oidc-options.js';
import { JwksCache } from '../keys/jwks.cache.js';
import { OidcDiscoveryService } from '../discovery/oidc-discovery.service.js';
import { toClaims } from '../claims/claims.validation.js';
import { LogoutTokenClaims } from '../claims/logout-token-claims.js';
import { jwtLogFacts } from '../errors/log-text.js';
import { OidcError } from '../errors/oidc.error.js';
import { requestForm, type PlatformRequest } from '../http/platform.js';
import { OIDC_CLOCK, OIDC_OPTIONS, OIDC_REPLAY_CACHE, type OidcClock } from '../oidc.constants.js';
import { OidcEvents } from '../events/oidc-events.service.js';
import { OidcSessionService } from '../session/oidc-session.service.js';
import { OidcTelemetry, traced } from '../telemetry/oidc-telemetry.js';

/**
 * OP-initiated logout: back-channel (OpenID Connect Back-Channel Logout 1.0) and front-channel
 * (Front-Channel Logout 1.0). Sessions end through `OidcSessionStore.destroyBy`, so with a shared store
 * they end on every instance.
 */
@Injectable()
export class OidcChannelLogoutService {
  private readonly logger = new Logger('OidcChannelLogout');

  constructor(
    @Inject(OIDC_OPTIONS) private readonly options: ResolvedOidcOptions,
    @Inject(OIDC_CLOCK) private readonly clock: OidcClock,
    @Inject(OIDC_REPLAY_CACHE) private readonly replays: ReplayCache,
    private readonly discovery: OidcDiscoveryService,
    private readonly sessions: OidcSessionService,
    private readonly events: OidcEvents,
    private readonly jwks: JwksCache,
    @Optional() private readonly telemetry?: OidcTelemetry,
  ) {}

  /**
   * Handles a back-channel logout POST: validates the `logout_token` (§2.6), refuses a replayed `jti`
   * (step 8), then ends every matching session (§2.7). Resolves to the number of sessions ended; a valid
   * token matching no session is still a success. Throws `ERR_OIDC_INVALID_REQUEST` (400) for a malformed request,
   * `ERR_OIDC_INVALID_LOGOUT_TOKEN` (400) for a token that fails §2.6 or is replayed.
   */
  handle(req: PlatformRequest): Promise<number> {
    return traced(this.telemetry, 'oidc.logout.backchannel', {}, () => this.handleBackchannel(req), false);
  }

  private async handleBackchannel(req: PlatformRequest): Promise<number> {
    const form = await requestForm(req);
    if (!form) throw new OidcError('ERR_OIDC_INVALID_REQUEST', 'Expected an application/x-www-form-urlencoded body.');
    const tokens = form.getAll('logout_token');
    // §2.5: exactly one logout_token parameter.
    if (tokens.length !== 1 || !tokens[0]) {
      throw new OidcError('ERR_OIDC_INVALID_REQUEST', 'Expected exactly one logout_token parameter.');
    }
    const now = Math.floor(this.clock.now() / 1000);
    let claims: LogoutTokenClaims;
    try {
      claims = await verifyLogoutToken(tokens[0], {
        issuer: this.discovery.issuer,
        clientId: this.options.clientId,
        algorithm: await this.discovery.getIdTokenAlgorithm(),
        clockTolerance: this.options.clockTolerance,
        now,
        keyFor: async (alg, kid) =>
          // OIDC Core §10.1: an OP that signs ID tokens with the client secret (idTokenSigningAlg HS*) signs its
          // logout tokens so too; anything else comes from the OP's JWKS, never from the token.
          (CLIENT_SECRET_ALGORITHMS as readonly string[]).includes(alg)
            ? new TextEncoder().encode(this.options.clientSecret!)
            : this.jwks.verifiedKey(tokens[0]!, this.discovery.issuer, alg, kid, 'The logout_token'),
      });
    } catch (err) {
      if (Logger.isLevelEnabled('debug'))
        this.logger.debug(
          `Logout token refused: ${(err as Error).message} Token: ${jwtLogFacts(tokens[0])?.facts ?? 'not a decodable JWT'}.`,
        );
      throw err;
    }
    // §2.6 step 8: a jti is good once, for as long as the token could be valid.
    const replayKey = `logout:${claims.iss}:${claims.jti}`;
    const fresh = await this.replays.recordOnce(replayKey, claims.exp - now + this.options.clockTolerance);
    if (!fresh) throw new OidcError('ERR_OIDC_INVALID_LOGOUT_TOKEN', 'The logout_token was already used.');

    // §2.7: by sid when the token has one (and sub must match when both are given), else every session of sub.
    let ended: number;
    try {
      // §2.7: a sub-only token issued at `iat` ends the sessions that existed then, not one begun afterwards.
      const createdBefore = claims.sid === undefined ? claims.iat + this.options.clockTolerance : undefined;
      ended = await this.sessions.endSessions({ iss: claims.iss, sid: claims.sid, sub: claims.sub, createdBefore });
    } catch (err) {
      // The store could not end the sessions (→ 503): un-burn the jti so the OP's retry of this same
      // token is honoured instead of refused as a replay (§2.8: the OP may retry a failed delivery).
      await this.replays.forget?.(replayKey).catch(() => undefined);
      throw err;
    }
    // After an RP-initiated logout the OP's notification finds the session already ended: nothing to act on.
    if (ended > 0) this.logger.log(`Back-channel logout ended ${ended} session(s).`);
    else this.logger.debug('Back-channel logout: no session of this app matched (already ended here).');
    this.events.emit({ type: 'backchannel-logout', iss: claims.iss, sub: claims.sub, sid: claims.sid, sessionsEnded: ended });
    return ended;
  }

  /**
   * Front-Channel Logout §2: ends the session named by `iss` + `sid` (both required, `iss` must be ours).
   * Tokens are not revoked at the OP on this unauthenticated signal. Resolves to the number of sessions ended.
   */
  async handleFrontchannel(iss: string | null, sid: string | null): Promise<number> {
    if (!iss || !sid || iss !== this.discovery.issuer || sid.length > 256) {
      throw new OidcError('ERR_OIDC_INVALID_REQUEST', 'Front-channel logout needs this OP\'s "iss" and a "sid".');
    }
    const ended = await this.sessions.endSessions({ iss, sid });
    this.events.emit({ type: 'frontchannel-logout', iss, sid, sessionsEnded: ended });
    return ended;
  }
}

// ——— The logout token (Back-Channel Logout 1.0 §2.4, §2.6) ———

/** Back-Channel Logout 1.0 §2.4: the event member a logout token must carry. */
export const BACKCHANNEL_LOGOUT_EVENT = 'http://schemas.openid.net/event/backchannel-logout';
/** A logout token older than this is refused even if its `exp` says otherwise (§2.6 step 5, §4). */
const MAX_AGE_SECONDS = 600;
const MAX_TOKEN_LENGTH = 16 * 1024;

interface LogoutTokenExpectations {
  issuer: string;
  clientId: string;
  /** The pinned algorithm the OP signs with (the ID token's, OIDC Back-Channel Logout §2.6 step 3). */
  algorithm: string;
  clockTolerance: number;
  /** epoch seconds */
  now: number;
  /** The key that verifies the token's signature: the shared JWKS cache's, or the client secret for HS*. */
  keyFor: (alg: string, kid: string | undefined) => Promise<CryptoKey | Uint8Array>;
}

function invalid(message: string, cause?: unknown): OidcError {
  return new OidcError('ERR_OIDC_INVALID_LOGOUT_TOKEN', message, { cause });
}

/**
 * Verifies a logout token exactly per OpenID Connect Back-Channel Logout 1.0 §2.6. The caller records
 * the `jti` (step 8) only after this resolves, so an invalid token never burns one.
 */
async function verifyLogoutToken(token: string, expect: LogoutTokenExpectations): Promise<LogoutTokenClaims> {
  if (token.length > MAX_TOKEN_LENGTH || token.split('.').length !== 3) {
    throw invalid('The logout_token is not a signed JWT.');
  }
  let payload: Record<string, unknown>;
  let typ: string | undefined;
  let key: CryptoKey | Uint8Array;
  try {
    const header = decodeProtectedHeader(token);
    // §2.6 step 3 (signed like the ID token), RFC 8725 §3.1: exactly the pinned algorithm — never `none`; HMAC
    // only when `idTokenSigningAlg` pins it, and then keyed with the client secret (OIDC Core §10.1).
    if (header.alg !== expect.algorithm) {
      throw invalid(`The logout_token is signed with "${String(header.alg).slice(0, 20)}", but ${expect.algorithm} is expected.`);
    }
    key = await expect.keyFor(header.alg, typeof header.kid === 'string' ? header.kid : undefined);
  } catch (err) {
    if (err instanceof OidcError && err.code === 'ERR_OIDC_KEYS_UNAVAILABLE') throw err;
    throw err instanceof OidcError ? invalid(err.message, err) : invalid('The logout_token is not a signed JWT.', err);
  }
  try {
    // §2.6 steps 2–5: signature with the issuer's keys and the pinned algorithm (never `none`, never
    // HMAC: RFC 8725 §3.1), iss, aud contains our client_id, exp/iat with the shared leeway.
    const result = await jwtVerify(token, key, {
      issuer: expect.issuer,
      audience: expect.clientId,
      algorithms: [expect.algorithm],
      clockTolerance: expect.clockTolerance,
      currentDate: new Date(expect.now * 1000),
      requiredClaims: ['iat', 'exp', 'jti'],
      maxTokenAge: MAX_AGE_SECONDS,
    });
    payload = result.payload as Record<string, unknown>;
    typ = result.protectedHeader.typ;
  } catch (err) {
    const reason = err instanceof joseErrors.JOSEError ? err.code : 'ERR_INVALID';
    throw invalid(`The logout_token failed validation (${reason}).`, err);
  }
  // §2.4, RFC 8725 §3.11: explicit typing is logout+jwt; absent or plain JWT is tolerated for interop
  // (Keycloak sends JWT); any other type (at+jwt, dpop+jwt, …) is another kind of token.
  if (typ !== undefined && !['logout+jwt', 'application/logout+jwt', 'jwt'].includes(typ.toLowerCase())) {
    throw invalid('The logout_token has the wrong "typ".');
  }
  if (typeof payload.iat === 'number' && payload.iat > expect.now + expect.clockTolerance) {
    throw invalid('The logout_token was issued in the future.');
  }
  let claims: LogoutTokenClaims;
  try {
    claims = toClaims(LogoutTokenClaims, payload, 'The logout_token');
  } catch (err) {
    throw invalid('The logout_token has missing or malformed claims.', err);
  }
  // §2.6 step 6: `events` has the back-channel logout member, whose value is a JSON object.
  const event = claims.events?.[BACKCHANNEL_LOGOUT_EVENT];
  if (typeof event !== 'object' || event === null || Array.isArray(event)) {
    throw invalid('The logout_token has no back-channel logout event.');
  }
  // §2.6 step 4 (§2.4): sub and/or sid.
  if (claims.sub === undefined && claims.sid === undefined) {
    throw invalid('The logout_token names neither "sub" nor "sid".');
  }
  // §2.6 step 7: a nonce marks an ID token trying to pass as a logout token.
  if ('nonce' in payload) {
    throw invalid('The logout_token must not contain a "nonce".');
  }
  return claims;
}
