import { Inject, Injectable, Logger, Optional } from '@nestjs/common';
import * as client from 'openid-client';
import { AccessTokenClaims } from '../claims/access-token-claims.js';
import { deepFreeze, reviveClaims } from '../claims/claims.validation.js';
import type { ResolvedOidcOptions } from '../config/resolve-oidc-options.js';
import { OidcDiscoveryService } from '../discovery/oidc-discovery.service.js';
import { classifyOpError, opRefusalOf } from '../errors/classify-op-error.js';
import { logText } from '../errors/log-text.js';
import { OidcError, invalidToken } from '../errors/oidc.error.js';
import { OIDC_CLOCK, OIDC_OPTIONS, type OidcClock } from '../oidc.constants.js';
import { OidcTelemetry, traced } from '../telemetry/oidc-telemetry.js';
import { checkAuthorizedParty } from './authorized-party.js';
import { checkTrustedIssuer } from './issuer-trust.js';
import { hashToken, VerifiedTokenCache } from './verified-token.cache.js';

/** An opaque access token the OP reported active, with its introspection response as claims. */
export interface IntrospectedToken {
  /**
   * The response members (RFC 7662 §2.2) except `active`; `iss` is the configured issuer when the OP
   * omitted it, and `sub` the `client_id` when it omitted that (RFC 9068 §2.2, client-credentials tokens).
   * `aud` and `exp` are present only when the OP returned them.
   */
  readonly claims: AccessTokenClaims;
  readonly issuer: string;
}

/** Seconds a token the OP refused (`active: false`, wrong audience or type) is refused without asking again. */
export const INTROSPECTION_REFUSAL_TTL = 30;
/** 9999-12-31T23:59:59Z: a later NumericDate is not plausible (BR-06). */
const MAX_NUMERIC_DATE = 253_402_300_799;
/** At most one "introspection endpoint unavailable" warning per this many milliseconds. */
const WARN_INTERVAL_MS = 30_000;
/** RFC 7662 §2.2 `token_type` (RFC 6750 / RFC 9449 §6.2), compared case-insensitively. */
const ACCESS_TOKEN_TYPES = new Set(['bearer', 'dpop']);

function isNonEmptyString(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0;
}

function isNumericDate(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 && value <= MAX_NUMERIC_DATE;
}

/**
 * Opaque access tokens (RFC 7662): asks the configured issuer's introspection endpoint with the client's
 * credentials, validates the answer for this resource server, and caches it.
 *
 * - One introspection request in flight per token, however many requests carry it.
 * - An active token is reused for `bearer.cache.introspectionTtl` seconds, never past its `exp`; a refused
 *   one is refused for {@link INTROSPECTION_REFUSAL_TTL} seconds without asking again. Both caches are
 *   bounded LRUs keyed by SHA-256 of the token; a failed request (OP unreachable) is never cached.
 * - The issuer trust (which may differ per request) and the time claims are checked on every use, cached or not.
 */
@Injectable()
export class TokenIntrospector {
  private readonly logger = new Logger('OidcBearer');
  private readonly active: VerifiedTokenCache<IntrospectedToken>;
  private readonly refused: VerifiedTokenCache<string>;
  private readonly inflight = new Map<string, Promise<IntrospectedToken>>();
  private lastWarnAt = Number.NEGATIVE_INFINITY;

  constructor(
    @Inject(OIDC_OPTIONS) private readonly options: ResolvedOidcOptions,
    private readonly discovery: OidcDiscoveryService,
    @Inject(OIDC_CLOCK) private readonly clock: OidcClock,
    @Optional() private readonly telemetry?: OidcTelemetry,
  ) {
    const maxEntries = options.bearer?.cache.maxEntries ?? 0;
    this.active = new VerifiedTokenCache(maxEntries, () => clock.now());
    this.refused = new VerifiedTokenCache(maxEntries, () => clock.now());
  }

  /**
   * The introspected token, when the OP reports it active and it is meant for this API. `trusted` is the
   * list of issuers trusted for the request at hand. Throws `ERR_OIDC_INVALID_TOKEN` (401), or
   * `ERR_OIDC_INTROSPECTION_UNAVAILABLE` (503) while the OP cannot be asked.
   */
  async introspect(token: string, trusted: readonly string[]): Promise<IntrospectedToken> {
    // Only the configured issuer's endpoint can be asked (with this client's credentials); when that issuer
    // is not trusted for this request the OP is not contacted at all.
    checkTrustedIssuer(this.discovery.issuer, trusted);
    // One SHA-256 of the token keys both caches and the in-flight map.
    const key = hashToken(token);
    const refusal = this.refused.get(token, key);
    if (refusal !== undefined) throw invalidToken(refusal);

    let entry = this.active.get(token, key);
    if (!entry) {
      let flight = this.inflight.get(key);
      if (!flight) {
        flight = this.ask(token, key).finally(() => this.inflight.delete(key));
        this.inflight.set(key, flight);
      }
      entry = await flight;
    }
    // RFC 7662 §2.2 `iss`: the issuer must be trusted for THIS request (a resolver may differ per request).
    checkTrustedIssuer(entry.issuer, trusted);
    // RFC 7662 §4: a cached answer must not outlive the token; checked again at each use.
    this.checkTimes(entry.claims);
    return entry;
  }

  private async ask(token: string, key: string): Promise<IntrospectedToken> {
    const config = await this.discovery.getConfiguration();
    if (!config.serverMetadata().introspection_endpoint) {
      throw this.unavailable(
        new OidcError(
          'ERR_OIDC_OP_UNAVAILABLE',
          `The OP ${this.options.issuer} publishes no introspection_endpoint; turn bearer.introspection off.`,
        ),
      );
    }
    let response: Record<string, unknown>;
    try {
      // RFC 7662 §2.1: the hint only helps the OP look the token up; the answer is checked below regardless.
      response = (await traced(this.telemetry, 'oidc.introspection', { 'oidc.issuer': this.options.issuer }, () =>
        client.tokenIntrospection(config, token, { token_type_hint: 'access_token' }),
      )) as Record<string, unknown>;
    } catch (err) {
      const error = classifyOpError(err, 'the introspection request');
      // RFC 7662 §2.3 / RFC 6749 §5.2: the OP answered, and refused this API's own request (invalid_client…):
      // not an outage (503), so the token is refused — not remembered, it is not the token's fault.
      if (opRefusalOf(error)) {
        this.warnOnce(`Token introspection at ${this.options.issuer} was refused: ${error.message}`);
        throw new OidcError(
          'ERR_OIDC_INVALID_TOKEN',
          "The access token could not be introspected: the OP refused this API's introspection request.",
          { cause: error },
        );
      }
      throw this.unavailable(error);
    }
    const now = this.clock.now();
    let entry: IntrospectedToken;
    try {
      entry = this.validate(response);
    } catch (err) {
      // Refusals only refuse, and only for a short while (a flood of one bad token asks the OP once per window).
      if (err instanceof OidcError) this.refused.set(token, err.message, now + INTROSPECTION_REFUSAL_TTL * 1000, key);
      throw err;
    }
    const ttl = this.options.bearer!.cache.introspectionTtl * 1000;
    const exp = entry.claims.exp as number | undefined;
    this.active.set(token, entry, Math.min(now + ttl, exp === undefined ? Number.POSITIVE_INFINITY : exp * 1000), key);
    return entry;
  }

  /** 503: the token can be neither accepted nor refused right now. Never cached. */
  private unavailable(cause: OidcError): OidcError {
    this.warnOnce(`Token introspection at ${this.options.issuer} failed (${cause.message}); opaque access tokens get 503 meanwhile.`);
    return new OidcError('ERR_OIDC_INTROSPECTION_UNAVAILABLE', 'The access token cannot be checked right now; try again shortly.', {
      cause,
    });
  }

  /** A warning at most once per interval: a flood of opaque tokens does not flood the log. */
  private warnOnce(message: string): void {
    const now = this.clock.now();
    if (now - this.lastWarnAt < WARN_INTERVAL_MS) return;
    this.lastWarnAt = now;
    this.logger.warn(message);
  }

  /** RFC 7662 §2.2 members, checked for this resource server. */
  private validate(r: Record<string, unknown>): IntrospectedToken {
    const bearer = this.options.bearer!;
    // RFC 7662 §2.2: `active` is REQUIRED; anything but true means the token is not usable.
    if (r.active !== true) throw invalidToken('The access token is not active.');
    this.checkTokenKind(r);

    // RFC 7662 §2.2 `iss`; absent, the token is the configured issuer's, whose endpoint answered.
    if (r.iss !== undefined && !isNonEmptyString(r.iss)) throw invalidToken('The access token iss is invalid.');
    const issuer = (r.iss as string | undefined) ?? this.discovery.issuer;

    // RFC 7662 §2.2 `aud` (RFC 7519 §4.1.3): when present it must name this API.
    if (r.aud !== undefined) {
      const aud = Array.isArray(r.aud) ? r.aud : [r.aud];
      if (aud.length === 0 || !aud.every(isNonEmptyString)) throw invalidToken('The access token aud is invalid.');
      if (!aud.some((a) => bearer.audience.includes(a))) throw invalidToken('The access token is not meant for this API (aud).');
    }
    for (const member of ['exp', 'iat', 'nbf'] as const) {
      if (r[member] !== undefined && !isNumericDate(r[member])) throw invalidToken(`The access token ${member} is invalid.`);
    }
    for (const member of ['client_id', 'jti', 'username'] as const) {
      if (r[member] !== undefined && !isNonEmptyString(r[member])) throw invalidToken(`The access token ${member} is invalid.`);
    }
    // RFC 7662 §2.2 `scope`: a space-separated string.
    if (r.scope !== undefined && typeof r.scope !== 'string') throw invalidToken('The access token scope is invalid.');
    // RFC 7662 §2.2 `sub`; RFC 9068 §2.2: a token with no resource owner (client credentials) is the client's.
    if (r.sub !== undefined && !isNonEmptyString(r.sub)) throw invalidToken('The access token sub is invalid.');
    checkAuthorizedParty(r, bearer.authorizedParties);
    const sub = (r.sub as string | undefined) ?? (r.client_id as string | undefined);
    if (sub === undefined) throw invalidToken('The introspection response names neither a subject nor a client.');
    // RFC 7800 §3.1 / RFC 9449 §6.2: `cnf` is an object; a DPoP token_type requires `cnf.jkt`.
    if (r.cnf !== undefined && (typeof r.cnf !== 'object' || r.cnf === null || Array.isArray(r.cnf))) {
      throw invalidToken('The access token cnf is invalid.');
    }
    if (
      typeof r.token_type === 'string' &&
      r.token_type.toLowerCase() === 'dpop' &&
      !isNonEmptyString((r.cnf as Record<string, unknown> | undefined)?.jkt)
    ) {
      throw invalidToken('The DPoP access token has no cnf.jkt.');
    }

    const { active: _active, ...members } = r;
    const claims = reviveClaims(AccessTokenClaims, { ...members, iss: issuer, sub });
    this.checkTimes(claims);
    // Cached and shared by every request with this token (AccessTokenVerifier.verifyShared): frozen once.
    return Object.freeze({ claims: deepFreeze(claims), issuer });
  }

  /**
   * RFC 8725 §2.8 (token confusion) applied to introspection: a refresh token or ID token the OP reports
   * active is not an access token. Refused: any member that declares another kind — `token_type`
   * (RFC 7662 §2.2; oidc-provider, Okta, Ping, Hydra: Bearer/DPoP), `typ` (Keycloak: Bearer/DPoP/Refresh/ID),
   * `token_use` (Ory Hydra: access_token/refresh_token). RFC 7662 §2.2 makes `token_type` optional, so an
   * answer that declares no kind at all is accepted when its `aud` names this API (checked in `validate`,
   * RFC 7662 §4): the protected resource then knows the token was issued for it. oidc-provider and MITREid
   * omit `token_type` only for refresh tokens, which carry no `aud`, so those stay refused.
   */
  private checkTokenKind(r: Record<string, unknown>): void {
    let declared = false;
    for (const value of [r.token_type, r.typ]) {
      if (value === undefined) continue;
      declared = true;
      if (typeof value !== 'string' || !ACCESS_TOKEN_TYPES.has(value.toLowerCase())) {
        throw invalidToken(
          `The introspected token is not an access token (it says ${r.token_type !== undefined ? 'token_type' : 'typ'} "${logText(value, 40)}").`,
        );
      }
    }
    if (r.token_use !== undefined) {
      declared = true;
      if (r.token_use !== 'access_token')
        throw invalidToken(`The introspected token is not an access token (it says token_use "${logText(r.token_use, 40)}").`);
    }
    if (!declared && r.aud === undefined) {
      throw invalidToken(
        'The introspection response declares no token_type and no aud, so it cannot be told apart from a refresh token (RFC 8725 §2.8); have the OP include aud (an RFC 8707 resource) or token_type.',
      );
    }
  }

  /** RFC 7519 §4.1.4–4.1.6 with the module's leeway (RFC 9068 §4). */
  private checkTimes(claims: AccessTokenClaims): void {
    const now = Math.floor(this.clock.now() / 1000);
    const tolerance = this.options.clockTolerance;
    const { exp, nbf, iat } = claims as { exp?: number; nbf?: number; iat?: number };
    if (exp !== undefined && exp <= now - tolerance) throw invalidToken('The access token has expired.');
    if (nbf !== undefined && nbf > now + tolerance) throw invalidToken('The access token is not valid yet.');
    if (iat !== undefined && iat > now + tolerance) throw invalidToken('The access token iat is in the future.');
  }
}
