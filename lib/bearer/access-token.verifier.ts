import { Inject, Injectable, Logger, Optional } from '@nestjs/common';
import { decodeJwt, decodeProtectedHeader, errors, jwtVerify, type JWTPayload } from 'jose';
import { AccessTokenClaims, hasAccessTokenClaimsShape } from '../claims/access-token-claims.js';
import { deepFreeze, reviveClaims, toClaims } from '../claims/claims.validation.js';
import type { OidcIssuerResolver } from '../config/oidc-options.interface.js';
import type { ResolvedOidcOptions } from '../config/resolve-oidc-options.js';
import { OidcDiscoveryService } from '../discovery/oidc-discovery.service.js';
import { jwtLogFacts, logValue } from '../errors/log-text.js';
import { OidcError, invalidToken } from '../errors/oidc.error.js';
import { OIDC_CLOCK, OIDC_OPTIONS, type OidcClock } from '../oidc.constants.js';
import { OidcTelemetry } from '../telemetry/oidc-telemetry.js';
import { checkAuthorizedParty } from './authorized-party.js';
import { assertBearerSchemeAccepted, assertBoundTo, assertDpopSchemeAccepted, assertNotBound, DpopVerifier } from './dpop.verifier.js';
import { JwksCache, MAX_KEY_ATTEMPTS, type VerificationKey } from '../keys/jwks.cache.js';
import { canonicalIssuer, checkTrustedIssuer } from './issuer-trust.js';
import { TokenIntrospector } from './token-introspector.js';
import { hashToken, VerifiedTokenCache } from './verified-token.cache.js';

/** Options of {@link AccessTokenVerifier.verify}. */
export interface AccessTokenVerifyOptions {
  /**
   * The DPoP proof (the request's single `DPoP` header) when the token came as `Authorization: DPoP`.
   * Without it the token is treated as a bearer token, and a DPoP-bound token is refused (RFC 9449 §7.2).
   */
  dpopProof?: string;
  /** The request's HTTP method, for the proof's `htm`. Required with `dpopProof`. */
  method?: string;
  /**
   * The request's absolute URL, for the proof's `htu`. Required with `dpopProof`. Build it from your
   * public base URL and the request path — never from the `Host` header.
   */
  url?: string;
  /**
   * The platform request (Express or Fastify), handed to a `bearer.issuers` resolver to pick the issuers
   * trusted for this request. `OidcGuard` and the Passport strategies pass it; without it a resolver
   * receives `undefined`.
   */
  req?: unknown;
}

/** Largest access token looked at; 16 KB is far above any real JWT access token. */
const MAX_TOKEN_LENGTH = 16 * 1024;
/** RFC 7515 §7.1: compact JWS = three non-empty base64url segments (no padding, no whitespace). */
const JWS_COMPACT = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;
const JWE_COMPACT = /^[^.]*\.[^.]*\.[^.]*\.[^.]*\.[^.]*$/;
/** 9999-12-31T23:59:59Z: a later `exp` is not a plausible NumericDate (BR-06: no "valid forever" tokens). */
const MAX_NUMERIC_DATE = 253_402_300_799;
/** RFC 9068 §2.2: claims an RFC 9068 token (`typ` at+jwt) always carries; any other JWT access token at least `exp` and `sub`. */
const RFC9068_REQUIRED_CLAIMS: readonly string[] = Object.freeze(['exp', 'sub', 'iat', 'jti', 'client_id']);
const JWT_REQUIRED_CLAIMS: readonly string[] = Object.freeze(['exp', 'sub']);
/** OIDC Core §2 / §3.3.2.11: claims only ID tokens carry. */
const ID_TOKEN_ONLY_CLAIMS = ['nonce', 'at_hash', 'c_hash', 's_hash'];

/** A token accepted for this request: verified here, or introspected (opaque). */
interface AcceptedToken {
  readonly claims: AccessTokenClaims;
  readonly issuer: string;
}

/** A verified JWT, as cached: with the key that verified it (BR-17). */
interface VerifiedToken extends AcceptedToken {
  readonly key: VerificationKey;
}

/** Upper bound on the issuers a `bearer.issuers` resolver may return for one request. */
const MAX_RESOLVED_ISSUERS = 100;

/** Lower-cased media type without an `application/` prefix (RFC 7515 §4.1.9). */
function normalizeTyp(typ: string): string {
  const lower = typ.toLowerCase();
  return lower.startsWith('application/') ? lower.slice('application/'.length) : lower;
}

function isNonEmptyString(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0;
}

/** Maps a jose validation failure to a description that never quotes the token. */
function fromJose(err: unknown): OidcError {
  if (err instanceof errors.JWTExpired) return invalidToken('The access token has expired.', err);
  if (err instanceof errors.JWTClaimValidationFailed) {
    return invalidToken(`The access token ${err.claim} claim is missing or invalid.`, err);
  }
  if (err instanceof errors.JOSEAlgNotAllowed) return invalidToken('The access token algorithm is not accepted.', err);
  if (err instanceof errors.JOSENotSupported) return invalidToken('The access token uses an unsupported JOSE feature.', err);
  return invalidToken('The access token is malformed.', err);
}

type JsonObject = Record<string, unknown>;

/** Sets an own data property, also for a member named `__proto__` (never a prototype change). */
function defineMember(target: JsonObject, name: string, value: unknown): void {
  if (name === '__proto__') Object.defineProperty(target, name, { value, enumerable: true, writable: true, configurable: true });
  else target[name] = value;
}

/** An empty container for a copy of `value`, or undefined when `value` is not a JSON object or array. */
function emptyLike(value: object): JsonObject | unknown[] | undefined {
  if (Array.isArray(value)) return new Array<unknown>(value.length);
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null ? {} : undefined;
}

/**
 * A deep copy of JSON data (objects, arrays, primitives) — iterative, so no nesting a 16 KB token can hold
 * exhausts the stack; anything that is not JSON data goes through structuredClone.
 */
function cloneJson(value: unknown): unknown {
  if (typeof value !== 'object' || value === null) return value;
  const root = emptyLike(value);
  if (root === undefined) return structuredClone(value);
  const pending: Array<[object, JsonObject | unknown[]]> = [[value, root]];
  while (pending.length > 0) {
    const [source, target] = pending.pop()!;
    for (const name of Object.keys(source)) {
      let member = (source as JsonObject)[name];
      if (typeof member === 'object' && member !== null) {
        const copy = emptyLike(member);
        if (copy === undefined) {
          member = structuredClone(member);
        } else {
          pending.push([member, copy]);
          member = copy;
        }
      }
      defineMember(target as JsonObject, name, member);
    }
  }
  return root;
}

/** A fresh deep copy per call: the cached claims must not be mutated by one request for the next. */
function copyClaims(claims: AccessTokenClaims): AccessTokenClaims {
  const copy = new AccessTokenClaims();
  for (const name of Object.keys(claims)) defineMember(copy, name, cloneJson(claims[name]));
  return copy;
}

/**
 * Verifies JWT access tokens (RFC 9068) issued by the trusted issuers (`bearer.issuers`, a list or a
 * per-request resolver) for this API (`bearer.audience`), opaque access tokens by introspection (RFC 7662)
 * when `bearer.introspection` is on, and DPoP proofs (RFC 9449) when the token comes with one. Returns the
 * validated {@link AccessTokenClaims}; throws {@link OidcError} `ERR_OIDC_INVALID_TOKEN` (401),
 * `ERR_OIDC_INVALID_DPOP_PROOF` (401), `ERR_OIDC_INVALID_REQUEST` (400) or, while the issuer's keys or
 * its introspection endpoint cannot be reached, `ERR_OIDC_KEYS_UNAVAILABLE` or
 * `ERR_OIDC_INTROSPECTION_UNAVAILABLE` (503).
 *
 * Cheap structural checks run before any cryptography or network: size, compact JWS shape, header
 * (algorithm allow-list, no key-carrying headers, no `crit`), `typ`, and the issuer — keys are fetched
 * only for an issuer trusted for the request at hand. Successful verifications are cached until the
 * token's `exp`; a cached token is still refused on a request whose trusted issuers do not include its own.
 * A token shaped like a JWT is always verified locally, never introspected.
 *
 * @example
 * ```ts
 * @Injectable() class OrdersGateway {
 *   constructor(private readonly tokens: AccessTokenVerifier) {}
 *   async onConnect(token: string) {
 *     const claims = await this.tokens.verify(token);
 *     return claims.sub;
 *   }
 * }
 * ```
 */
@Injectable()
export class AccessTokenVerifier {
  private readonly cache: VerifiedTokenCache<VerifiedToken>;
  /**
   * `[alg]` (frozen) for each of `bearer.algorithms`: the one algorithm a token is verified with, its header's, once
   * checkHeader has found it among them. jose builds a Set of the list it is given on every call, so it gets one entry.
   */
  private readonly pinned: ReadonlyMap<string, readonly string[]>;
  private readonly logger = new Logger('OidcBearer');

  constructor(
    @Inject(OIDC_OPTIONS) private readonly options: ResolvedOidcOptions,
    private readonly jwks: JwksCache,
    private readonly dpop: DpopVerifier,
    @Inject(OIDC_CLOCK) private readonly clock: OidcClock,
    @Optional() private readonly introspector?: TokenIntrospector,
    @Optional() private readonly discovery?: OidcDiscoveryService,
    @Optional() private readonly telemetry?: OidcTelemetry,
  ) {
    this.cache = new VerifiedTokenCache(options.bearer?.cache.maxEntries ?? 0, () => clock.now());
    this.pinned = new Map((options.bearer?.algorithms ?? []).map((alg) => [alg, Object.freeze([alg])]));
  }

  /**
   * Verifies `token` (and, with `dpopProof`, the proof and the token's binding to its key).
   *
   * @see RFC 9068 §4, RFC 9449 §4.3 and §7, RFC 8725
   * @example
   * ```ts
   * const claims = await verifier.verify(token);
   * const bound = await verifier.verify(token, { dpopProof, method: 'GET', url: 'https://api.example.com/orders' });
   * const tenant = await verifier.verify(token, { req }); // with a `bearer.issuers` resolver
   * ```
   */
  async verify(token: string, opts: AccessTokenVerifyOptions = {}): Promise<AccessTokenClaims> {
    return copyClaims(await this.verifyShared(token, opts));
  }

  /**
   * {@link verify} without the per-call copy: the claims as cached, deeply frozen and shared by every call
   * with the same token while it stays cached. For callers that only read them (`OidcGuard` builds the
   * request's user from them); use {@link verify} for claims of your own.
   *
   * @internal
   */
  verifyShared(token: string, opts: AccessTokenVerifyOptions = {}): Readonly<AccessTokenClaims> | Promise<Readonly<AccessTokenClaims>> {
    // The token is hashed and looked up once per request: the cache key, and the DPoP proof's `ath` (RFC 9449 §4.2).
    const tokenHash = typeof token === 'string' && token.length > 0 && token.length <= MAX_TOKEN_LENGTH ? hashToken(token) : undefined;
    const cached = tokenHash === undefined ? undefined : this.cachedVerification(token, tokenHash);
    if (cached !== undefined && opts.dpopProof === undefined && this.admitsWithoutPromise(cached)) {
      this.telemetry?.count('oidc.token_cache.hits');
      return cached.claims;
    }
    return this.verifySharedAsync(token, opts, tokenHash, cached);
  }

  /** The cached verification of `token`, while the key that verified it is still published (BR-17: else verified again, and refused). */
  private cachedVerification(token: string, tokenHash: string): VerifiedToken | undefined {
    const cached = this.cache.get(token, tokenHash);
    return cached !== undefined && this.jwks.isCurrent(cached.issuer, cached.key) ? cached : undefined;
  }

  /**
   * Whether a cached token admits a Bearer-scheme request with no promise and no I/O; when not, {@link verifySharedAsync}
   * decides (and words any refusal). Its rules, each a condition here instead of a refusal: the Bearer scheme accepted
   * (RFC 9449 §7.2), the issuer trusted for this request without a resolver call (RFC 9068 §4), and no `cnf` (a bound
   * token, or an unsupported binding, is the full path's to refuse: RFC 9449 §7.2).
   */
  private admitsWithoutPromise(cached: VerifiedToken): boolean {
    if (this.options.bearer?.dpop === 'required') return false;
    const trusted = this.staticTrustedIssuers();
    return trusted !== undefined && trusted.includes(cached.issuer) && cached.claims.cnf === undefined;
  }

  private async verifySharedAsync(
    token: string,
    opts: AccessTokenVerifyOptions,
    tokenHash: string | undefined,
    cached: VerifiedToken | undefined,
  ): Promise<Readonly<AccessTokenClaims>> {
    // The try costs nothing until something throws: a refusal is noted in the catch, with no promise chained onto
    // every request's verification for it.
    try {
      const bearer = this.options.bearer;
      if (!bearer) {
        throw new TypeError("AccessTokenVerifier needs the `bearer` option. Set `bearer: { audience: … }` in OidcModule's options.");
      }
      if (typeof token !== 'string') throw new TypeError('AccessTokenVerifier.verify(): `token` must be a string.');

      if (opts.dpopProof === undefined) {
        assertBearerSchemeAccepted(bearer.dpop);
        const { claims } = await this.verifyToken(token, await this.trustedIssuers(opts.req), tokenHash, cached);
        assertNotBound(claims);
        return claims;
      }

      assertDpopSchemeAccepted(bearer.dpop);
      if (typeof opts.method !== 'string' || typeof opts.url !== 'string') {
        throw new TypeError('AccessTokenVerifier.verify(): `method` and `url` are required with `dpopProof`.');
      }
      // RFC 9449 §4.3 checks 2–11 and `ath` first: no key fetch for a request whose proof is already wrong. `ath` and
      // the cache key are the same SHA-256 of the token (RFC 9449 §4.2): hashed once.
      const proof = await this.dpop.verifyProof(opts.dpopProof, {
        method: opts.method,
        url: opts.url,
        accessToken: token,
        accessTokenHash: tokenHash,
      });
      const { claims } = await this.verifyToken(token, await this.trustedIssuers(opts.req), tokenHash, cached);
      assertBoundTo(claims, proof);
      // RFC 9449 §11.1: one use per proof; recorded last so a failing request does not burn its jti.
      await this.dpop.recordJti(proof);
      return claims;
    } catch (err) {
      this.noteRefusal(token, err);
      throw err;
    }
  }

  /**
   * A refusal, counted by reason (API.md §7.6: the error code, no token, claim or subject in it) and, with debug
   * logging on, described for the developer.
   */
  private noteRefusal(token: string, err: unknown): void {
    if (this.telemetry?.enabled) this.telemetry.count('oidc.bearer.refusals', { reason: err instanceof OidcError ? err.code : 'error' });
    if (err instanceof OidcError && Logger.isLevelEnabled('debug')) this.logger.debug(this.describeRefusal(token, err));
  }

  /**
   * A refusal in words a developer can act on, for the debug log: the reason and the token's non-secret
   * facts — `iss`, `aud`, `azp`, `alg`, `kid`, `typ` — next to what this API expects, and for time checks the
   * size of the gap. Never the token, nor any part of it that could be replayed.
   */
  private describeRefusal(token: string, err: OidcError): string {
    const decoded = jwtLogFacts(token);
    const facts = [decoded?.facts ?? (JWS_COMPACT.test(token) ? 'not decodable' : 'not a JWT')];
    if (decoded) {
      const { exp, iat, nbf } = decoded.payload;
      const now = Math.floor(this.clock.now() / 1000);
      const clocks = `clockTolerance is ${this.options.clockTolerance} s — are the clocks of this server and the issuer in sync?`;
      if (typeof exp === 'number' && exp <= now) facts.push(`expired ${now - exp} s ago (${clocks})`);
      if (typeof iat === 'number' && iat > now) facts.push(`iat is ${iat - now} s in the future (${clocks})`);
      if (typeof nbf === 'number' && nbf > now) facts.push(`nbf is ${nbf - now} s in the future (${clocks})`);
    }
    const bearer = this.options.bearer;
    const issuers = this.staticTrustedIssuers() ?? ['(resolved per request)'];
    const parties = bearer?.authorizedParties ? `, azp one of ${logValue(bearer.authorizedParties)}` : '';
    return `Access token refused (${err.code}): ${err.message} Token: ${facts.join(', ')}; expected iss one of ${logValue(issuers)}, aud one of ${logValue(bearer?.audience)}${parties}.`;
  }

  /**
   * The issuers trusted for this request: the static `bearer.issuers` (as is, no promise), or what its
   * resolver returns.
   */
  private trustedIssuers(req: unknown): readonly string[] | Promise<readonly string[]> {
    const issuers = this.staticTrustedIssuers();
    if (issuers) return issuers;
    const configured = this.options.bearer!.issuers;
    return typeof configured === 'function' ? this.resolveIssuers(configured, req) : this.discoveredIssuers();
  }

  /**
   * The issuers trusted for every request, when that is known without I/O: by default the exact string the
   * OP publishes (OIDC Discovery §4.3, once discovered), else the static `bearer.issuers`. Undefined for a
   * resolver, or while the default still waits for discovery.
   */
  private staticTrustedIssuers(): readonly string[] | undefined {
    const bearer = this.options.bearer!;
    if (bearer.issuersFromDiscovery && this.discovery) return this.discovery.discoveredIssuers;
    return typeof bearer.issuers === 'function' ? undefined : bearer.issuers;
  }

  private async discoveredIssuers(): Promise<readonly string[]> {
    await this.discovery!.getConfiguration();
    return this.discovery!.discoveredIssuers ?? (this.options.bearer!.issuers as readonly string[]);
  }

  private async resolveIssuers(resolver: OidcIssuerResolver, req: unknown): Promise<readonly string[]> {
    const resolved: unknown = await resolver(req);
    if (!Array.isArray(resolved) || resolved.length > MAX_RESOLVED_ISSUERS || !resolved.every(isNonEmptyString)) {
      throw new TypeError(`The \`bearer.issuers\` resolver must return an array of at most ${MAX_RESOLVED_ISSUERS} issuer strings.`);
    }
    return resolved;
  }

  /**
   * The verified token: `cached` ({@link cachedVerification}, looked up once in {@link verifyShared}) when there is
   * one, otherwise verified now and cached under `tokenHash`.
   */
  private verifyToken(
    token: string,
    trusted: readonly string[],
    tokenHash: string | undefined,
    cached: VerifiedToken | undefined,
  ): AcceptedToken | Promise<AcceptedToken> {
    if (token.length > MAX_TOKEN_LENGTH) throw invalidToken('The access token is too large.');
    // RFC 6750 §2.1: a credential is at least one character.
    if (token.length === 0) throw invalidToken('The access token is empty.');
    if (cached) {
      // RFC 9068 §4: the issuer must be trusted for THIS request (a resolver may trust other issuers per request).
      checkTrustedIssuer(cached.issuer, trusted);
      this.telemetry?.count('oidc.token_cache.hits');
      return cached;
    }
    this.telemetry?.count('oidc.token_cache.misses');
    // (tokenHash is there for every token of a length that gets this far: verifyShared hashed it.)
    return this.verifyFresh(token, tokenHash ?? hashToken(token), trusted);
  }

  private async verifyFresh(token: string, cacheKey: string, trusted: readonly string[]): Promise<AcceptedToken> {
    const bearer = this.options.bearer!;

    if (!JWS_COMPACT.test(token)) {
      // RFC 7662 §2: anything that is not a JWT is opaque to this server; with introspection on, the OP decides.
      if (bearer.introspection && this.introspector) return this.introspector.introspect(token, trusted);
      // RFC 9068 §2.1 (a signed JWT; no decryption key is configured here) / BR-14: an encrypted token (JWE, five
      // segments) is refused without any decryption.
      if (JWE_COMPACT.test(token)) throw invalidToken('Encrypted access tokens (JWE) are not accepted.');
      // RFC 7515 §7.1, RFC 7519 §7.2: three base64url segments, nothing else, before any parsing.
      throw invalidToken('The access token is not a compact JWS.');
    }
    let header: Record<string, unknown>;
    let payload: JWTPayload;
    try {
      header = decodeProtectedHeader(token) as Record<string, unknown>;
      payload = decodeJwt(token);
    } catch (err) {
      // RFC 7519 §7.2 steps 3–10: header and claims must be JSON objects.
      throw invalidToken('The access token is malformed.', err);
    }
    const alg = this.checkHeader(header);

    // RFC 9068 §4 / RFC 8725 §3.8: `iss` must be exactly an issuer trusted for this request — checked
    // before any discovery or key fetch, so an untrusted issuer never makes this server call anywhere.
    // `bearer.issuerAliases`: a non-URL spelling the operator vouches for (Google's `accounts.google.com`)
    // stands for exactly one trusted issuer URL, whose keys verify it.
    const tokenIss = payload.iss;
    const issuer = typeof tokenIss === 'string' ? canonicalIssuer(tokenIss, this.options) : undefined;
    checkTrustedIssuer(issuer, trusted);
    this.refuseOtherTokenKinds(payload);

    const kid = header.kid as string | undefined;
    const keys = await this.jwks.keysFor(issuer, alg, kid, trusted);
    if (keys.length === 0) throw invalidToken('No signing key of the issuer matches the access token.');

    const strict = normalizeTyp(typeof header.typ === 'string' ? header.typ : '') === 'at+jwt';
    const now = this.clock.now();
    let verified: { payload: JWTPayload; key: VerificationKey } | undefined;
    let lastError: unknown;
    for (const key of keys.slice(0, MAX_KEY_ATTEMPTS)) {
      let cryptoKey: CryptoKey;
      try {
        cryptoKey = key.importedKey(alg) ?? (await key.cryptoKey(alg));
      } catch (err) {
        // A published key jose cannot import for this algorithm is skipped, like an unusable JWK.
        lastError = err;
        continue;
      }
      try {
        const result = await jwtVerify(token, cryptoKey, {
          // RFC 8725 §3.1: the one algorithm checkHeader allowed from the configured asymmetric ones (jose refuses any
          // other, and a key imported for another); jose also refuses unknown `crit` (RFC 7515 §4.1.11).
          algorithms: this.pinned.get(alg) as string[],
          // RFC 9068 §4: `iss` exact (as the token spells it: an alias was vouched for above), `aud` must
          // contain this resource server.
          issuer: tokenIss as string,
          audience: bearer.audience as string[],
          // RFC 9068 §4 / RFC 7519 §4.1.4–4.1.5: `exp` required and past-due with leeway L; `nbf` likewise.
          clockTolerance: this.options.clockTolerance,
          currentDate: new Date(now),
          // RFC 9068 §2.2: `exp`, `sub` always; `iat`, `jti`, `client_id` too for RFC 9068 tokens.
          requiredClaims: (strict ? RFC9068_REQUIRED_CLAIMS : JWT_REQUIRED_CLAIMS) as string[],
        });
        verified = { payload: result.payload, key };
        break;
      } catch (err) {
        lastError = err;
        // RFC 7515 §5.2: the next candidate only when this key did not verify the signature (jose throws a
        // TypeError when the key does not fit the algorithm, e.g. an RSA modulus under 2048 bits).
        if (err instanceof errors.JWSSignatureVerificationFailed || err instanceof TypeError) continue;
        throw fromJose(err);
      }
    }
    if (!verified) throw invalidToken('The access token signature is invalid.', lastError);

    // Frozen once here: the cached claims are shared by every request with this token (verifyShared).
    const claims = deepFreeze(this.checkClaims(verified.payload, strict, now));
    const entry: VerifiedToken = Object.freeze({ claims, issuer, key: verified.key });
    // Cached until `exp` at the latest (never longer); only successes are cached.
    this.cache.set(token, entry, claims.exp * 1000, cacheKey);
    return entry;
  }

  /** Header checks before any cryptography; returns the algorithm. */
  private checkHeader(header: Record<string, unknown>): string {
    const bearer = this.options.bearer!;
    // RFC 8725 §3.1, RFC 9068 §4: `none`, MACs (HS*) and anything not configured are refused.
    const alg = header.alg;
    if (typeof alg !== 'string' || !bearer.algorithms.includes(alg)) throw invalidToken('The access token algorithm is not accepted.');
    // RFC 8725 §3.10 / §2.9: keys come only from the issuer's jwks_uri; a token naming or carrying its own
    // key is refused, and those URLs are never fetched (SSRF, CVE-2018-0114).
    for (const member of ['jku', 'x5u', 'jwk', 'x5c']) {
      if (member in header) throw invalidToken(`The access token must not carry a ${member} header.`);
    }
    // RFC 7515 §4.1.11: no extension is understood here, so any `crit` is refused; RFC 7797 `b64` with it.
    if ('crit' in header || 'b64' in header) throw invalidToken('The access token uses an unsupported critical header.');
    // RFC 7519 §5.2 / RFC 8725 §2.8: a nested JWT is not an access token.
    if (typeof header.cty === 'string' && normalizeTyp(header.cty) === 'jwt') throw invalidToken('Nested JWTs are not accepted.');
    if (header.kid !== undefined && !isNonEmptyString(header.kid)) throw invalidToken('The access token kid header is invalid.');
    // RFC 9068 §4 / RFC 7515 §4.1.9 (media types compare case-insensitively, `application/` optional).
    if (header.typ !== undefined && typeof header.typ !== 'string') throw invalidToken('The access token typ header is invalid.');
    const typ = header.typ === undefined ? undefined : normalizeTyp(header.typ);
    if (bearer.requireJwtAccessTokenType) {
      if (typ !== 'at+jwt') throw invalidToken('The access token typ must be at+jwt (RFC 9068).');
    } else if (typ !== undefined && typ !== 'at+jwt' && typ !== 'jwt') {
      // RFC 8725 §3.11: an explicit other type (dpop+jwt, logout+jwt, id_token+jwt, ...) names another kind of token.
      throw invalidToken('The access token typ names another kind of token.');
    }
    return alg;
  }

  /**
   * RFC 8725 §2.8 / §3.11 (cross-JWT confusion), useful when `typ` is not required: a logout token or
   * other security event token (`events`, OIDC Back-Channel Logout §2.4, RFC 8417) and an ID token
   * addressed only to this client (ID-token-only claims, OIDC Core §2) are not access tokens.
   */
  private refuseOtherTokenKinds(payload: JWTPayload): void {
    if ('events' in payload) throw invalidToken('A security event token is not an access token.');
    const clientId = this.options.clientId;
    const aud = payload.aud;
    const forThisClient = aud === clientId || (Array.isArray(aud) && aud.includes(clientId));
    // OIDC Core §2: an ID token issued to this app — ID-token-only claims, or `azp` naming this app — is refused
    // whatever else `aud` holds (a token whose `aud` also names the API is still this app's ID token).
    if (forThisClient && (ID_TOKEN_ONLY_CLAIMS.some((claim) => claim in payload) || payload.azp === clientId)) {
      throw invalidToken('An ID token is not an access token.');
    }
  }

  /** Claim checks jose does not do, then the class-validator shape of {@link AccessTokenClaims}. */
  private checkClaims(payload: JWTPayload, strict: boolean, now: number): AccessTokenClaims {
    const tolerance = this.options.clockTolerance;
    const nowSeconds = Math.floor(now / 1000);
    // RFC 7519 §4.1.4: a NumericDate; beyond year 9999 is not plausible (saturated or overflowing values, BR-06).
    if (typeof payload.exp !== 'number' || !Number.isFinite(payload.exp) || payload.exp > MAX_NUMERIC_DATE) {
      throw invalidToken('The access token exp claim is missing or invalid.');
    }
    // RFC 7519 §4.1.6 / RFC 9068 §4: a token issued in the future (beyond the leeway) is refused.
    if (payload.iat !== undefined && (typeof payload.iat !== 'number' || !Number.isFinite(payload.iat))) {
      throw invalidToken('The access token iat claim is invalid.');
    }
    if (payload.iat !== undefined && payload.iat > nowSeconds + tolerance) {
      throw invalidToken(`The access token iat is ${payload.iat - nowSeconds} s in the future (clockTolerance ${tolerance} s).`);
    }
    // RFC 9068 §2.2: `sub` is a non-empty string; for RFC 9068 tokens also `client_id` and `jti`.
    if (!isNonEmptyString(payload.sub)) throw invalidToken('The access token sub claim is missing or invalid.');
    if (strict || payload.client_id !== undefined) {
      if (!isNonEmptyString(payload.client_id)) throw invalidToken('The access token client_id claim is missing or invalid.');
    }
    if (strict || payload.jti !== undefined) {
      if (!isNonEmptyString(payload.jti)) throw invalidToken('The access token jti claim is missing or invalid.');
    }
    checkAuthorizedParty(payload, this.options.bearer!.authorizedParties);
    // The same rules as class-validator's, without its per-call cost; it still words the refusal.
    if (hasAccessTokenClaimsShape(payload)) return reviveClaims(AccessTokenClaims, payload);
    try {
      return toClaims(AccessTokenClaims, payload, 'The access token');
    } catch (err) {
      throw invalidToken('The access token claims have the wrong shape.', err);
    }
  }
}
