import { hash } from 'node:crypto';
import { Inject, Injectable, Optional } from '@nestjs/common';
import { calculateJwkThumbprint, decodeProtectedHeader, EmbeddedJWK, errors, jwtVerify, type JWK } from 'jose';
import type { AccessTokenClaims } from '../claims/access-token-claims.js';
import type { ResolvedOidcOptions } from '../config/resolve-oidc-options.js';
import { OidcError, invalidToken } from '../errors/oidc.error.js';
import { MemoryReplayCache, type ReplayCache } from '../cache/replay-cache.js';
import { hashToken } from './verified-token.cache.js';
import { requestHeaderAll, requestMethod, requestPathAndQuery, type PlatformRequest } from '../http/platform.js';
import { OIDC_CLOCK, OIDC_OPTIONS, OIDC_REPLAY_CACHE, type OidcClock } from '../oidc.constants.js';
import { isPlainObject } from '../claims/claims.validation.js';

/** RFC 9449 §11.1: proofs are accepted for `iat` within ±W seconds of now (oauth4webapi uses 300). */
export const DPOP_IAT_WINDOW = 300;

/** A proof is a small JWT (header with a public JWK, five claims); anything larger is refused unparsed. */
const MAX_PROOF_LENGTH = 8 * 1024;
const MAX_JTI_LENGTH = 256;
const JWS_COMPACT = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;
/** JWK members that only private (or symmetric) keys have (RFC 7518 §6.2.2, §6.3.2, §6.4; RFC 8037 §2). */
const PRIVATE_JWK_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];
const UNRESERVED = /^[A-Za-z0-9\-._~]$/;

/** What the proof is checked against: the request it came with and the access token it accompanies. */
export interface DpopRequestContext {
  /** HTTP method of the request, as sent (compared case-sensitively). */
  method: string;
  /** Absolute URL of the request, built from the app's public base URL (never from `Host`). */
  url: string;
  /** The access token of the `Authorization: DPoP` header. */
  accessToken: string;
  /**
   * {@link accessTokenHash} of `accessToken` when the caller already has it (the token is hashed once per request).
   *
   * @internal
   */
  accessTokenHash?: string;
}

/** A proof that passed RFC 9449 §4.3 checks 1–11 and the `ath` half of check 12. */
export interface CheckedDpopProof {
  /** RFC 7638 SHA-256 thumbprint of the proof's public key: must equal the token's `cnf.jkt`. */
  readonly jkt: string;
  /** Replay-cache key of the proof's `jti` (scoped to its key). */
  readonly replayKey: string;
  /** Seconds the `jti` must be remembered: until the proof falls out of the `iat` window. */
  readonly replayTtl: number;
}

function invalidProof(description: string, cause?: unknown): OidcError {
  return new OidcError('ERR_OIDC_INVALID_DPOP_PROOF', description, { cause });
}

/**
 * RFC 9449 §4.3 check 9 with RFC 3986 §6.2.2 normalization: scheme and host lower-cased and a default
 * port dropped (the WHATWG URL parser does both), percent-encoding of unreserved characters decoded and
 * hex digits upper-cased; query and fragment ignored. `undefined` when not an absolute http(s) URL.
 */
export function normalizeHtu(value: string): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return undefined;
  }
  if ((url.protocol !== 'https:' && url.protocol !== 'http:') || url.username || url.password) return undefined;
  const path = url.pathname.replace(/%([0-9A-Fa-f]{2})/g, (_, hex: string) => {
    const char = String.fromCharCode(parseInt(hex, 16));
    return UNRESERVED.test(char) ? char : `%${hex.toUpperCase()}`;
  });
  return `${url.protocol}//${url.host}${path}`;
}

/**
 * RFC 9449 §4.2: `ath` is base64url(SHA-256(ASCII(access token))), no padding — the same digest the verified-token
 * cache keys tokens by ({@link hashToken}; an access token is ASCII, RFC 6750 §2.1 b64token), so the verifier computes
 * it once per request and hands it to both.
 */
export function accessTokenHash(accessToken: string): string {
  return hashToken(accessToken);
}

// ——— Every DPoP rule of the resource server is in this file: which scheme a route takes, the one proof of a
// request, the proof itself, the token's binding to the proof's key, and the proof's single use. ———

type DpopMode = NonNullable<ResolvedOidcOptions['bearer']>['dpop'];

/** `bearer.dpop: 'disabled'`: the DPoP scheme is a request this resource does not take (400, RFC 6750 §3.1). */
export function assertDpopSchemeAccepted(mode: DpopMode): void {
  if (mode === 'disabled') throw new OidcError('ERR_OIDC_INVALID_REQUEST', 'The DPoP scheme is not accepted here.');
}

/** `bearer.dpop: 'required'`: a token without a proof is refused (RFC 9449 §7.1). */
export function assertBearerSchemeAccepted(mode: DpopMode): void {
  if (mode === 'required') throw invalidToken('This resource requires a DPoP-bound access token sent with the DPoP scheme.');
}

/** The proof, method and URL a DPoP request is checked against. */
export interface DpopRequest {
  readonly proof: string;
  readonly method: string;
  readonly url: string;
}

/**
 * The DPoP facts of a request: RFC 9449 §4.3 check 1 (exactly one `DPoP` header holding exactly one proof) and
 * check 9's URL, built from the configured public origin — never from `Host` (RFC 9700 §4.13).
 */
export function dpopRequestOf(req: PlatformRequest, origin: string): DpopRequest {
  const proofs = requestHeaderAll(req, 'dpop');
  if (proofs.length !== 1 || proofs[0]!.includes(',')) {
    throw invalidProof('Send exactly one DPoP proof in one DPoP header.');
  }
  const path = requestPathAndQuery(req);
  return { proof: proofs[0]!.trim(), method: requestMethod(req), url: `${origin}${path.startsWith('/') ? path : `/${path}`}` };
}

/** `cnf.jkt` of a DPoP-bound token; other confirmation methods cannot be checked here, so they are refused. */
function boundKeyOf(claims: AccessTokenClaims): string | undefined {
  const cnf = claims.cnf;
  if (cnf === undefined) return undefined;
  if (typeof cnf !== 'object' || cnf === null || Array.isArray(cnf)) throw invalidToken('The access token cnf claim is invalid.');
  const { jkt, ...others } = cnf as Record<string, unknown>;
  // RFC 8705 §3 (certificate-bound `x5t#S256`) or any other method: the binding cannot be verified here.
  if (Object.keys(others).length > 0) throw invalidToken('The access token is bound by a method this server does not support.');
  if (jkt === undefined) return undefined;
  if (typeof jkt !== 'string' || jkt.length === 0) throw invalidToken('The access token cnf.jkt claim is invalid.');
  return jkt;
}

/** RFC 9449 §7.2: a DPoP-bound token presented as a bearer token MUST be rejected (downgrade). */
export function assertNotBound(claims: AccessTokenClaims): void {
  if (boundKeyOf(claims) !== undefined) throw invalidToken('This access token is DPoP-bound; send it with the DPoP scheme and a proof.');
}

/** RFC 9449 §4.3 check 12: the token is bound to the proof's key (§6.1 `cnf.jkt`, RFC 7638). */
export function assertBoundTo(claims: AccessTokenClaims, proof: CheckedDpopProof): void {
  const jkt = boundKeyOf(claims);
  if (jkt === undefined) throw invalidToken('This access token is not DPoP-bound; send it with the Bearer scheme.');
  if (jkt !== proof.jkt) throw invalidToken('Invalid DPoP key binding.');
}

/**
 * Checks DPoP proofs (RFC 9449 §4.3) sent with `Authorization: DPoP` requests and remembers their `jti`s
 * to refuse replays (§11.1). The resource server issues no `DPoP-Nonce` (check 10 does not apply).
 */
@Injectable()
export class DpopVerifier {
  private readonly replay: ReplayCache;

  constructor(
    @Inject(OIDC_OPTIONS) private readonly options: ResolvedOidcOptions,
    @Inject(OIDC_CLOCK) private readonly clock: OidcClock,
    @Optional() @Inject(OIDC_REPLAY_CACHE) replay?: ReplayCache,
  ) {
    // The module's shared replay cache (a Redis one makes a replay to another instance fail too).
    this.replay = replay ?? new MemoryReplayCache(undefined, () => clock.now());
  }

  /** Algorithms accepted for proofs: the resolved `bearer.algorithms` (asymmetric only). */
  get algorithms(): readonly string[] {
    return this.options.bearer?.algorithms ?? [];
  }

  /**
   * RFC 9449 §4.3 checks 2–11 and the `ath` part of check 12. The key-binding part of check 12 (`cnf.jkt`)
   * needs the verified token and is the caller's; so is {@link DpopVerifier.recordJti}, called last.
   * Throws `ERR_OIDC_INVALID_DPOP_PROOF`.
   */
  async verifyProof(proof: string, request: DpopRequestContext): Promise<CheckedDpopProof> {
    // Check 2: a single, well-formed JWT (compact JWS, base64url only) — before any parsing.
    if (typeof proof !== 'string' || proof.length > MAX_PROOF_LENGTH || !JWS_COMPACT.test(proof)) {
      throw invalidProof('The DPoP proof is not a well-formed JWT.');
    }
    let header: Record<string, unknown>;
    try {
      header = decodeProtectedHeader(proof) as Record<string, unknown>;
    } catch (err) {
      throw invalidProof('The DPoP proof header is not a JSON object.', err);
    }
    // Check 4: `typ` is exactly `dpop+jwt` (RFC 9449 §4.2).
    if (header.typ !== 'dpop+jwt') throw invalidProof('The DPoP proof typ must be dpop+jwt.');
    // Check 5: an asymmetric algorithm this server accepts; never `none` or a MAC (RFC 8725 §3.1).
    if (typeof header.alg !== 'string' || !this.algorithms.includes(header.alg)) {
      throw invalidProof('The DPoP proof algorithm is not accepted.');
    }
    // Check 7: the `jwk` header is a public key; a private or symmetric key is refused outright.
    const jwk = header.jwk;
    if (!isPlainObject(jwk) || typeof jwk.kty !== 'string' || jwk.kty === 'oct' || PRIVATE_JWK_MEMBERS.some((m) => m in jwk)) {
      throw invalidProof('The DPoP proof jwk must be a public key.');
    }

    const now = this.clock.now();
    let payload: Record<string, unknown>;
    try {
      // Checks 3 and 6: required claims present, signature valid under the embedded key (jose also
      // refuses a `jwk` that is not a public key, and a `jwk` whose alg/kty does not fit `alg`).
      ({ payload } = await jwtVerify(proof, EmbeddedJWK, {
        typ: 'dpop+jwt',
        // The resolved options freeze this list, and jose only reads it: no copy per proof.
        algorithms: this.algorithms as string[],
        requiredClaims: ['jti', 'htm', 'htu', 'iat'],
        currentDate: new Date(now),
        clockTolerance: this.options.clockTolerance,
      }));
    } catch (err) {
      if (err instanceof errors.JWSSignatureVerificationFailed) throw invalidProof('The DPoP proof signature is invalid.', err);
      if (err instanceof errors.JWTClaimValidationFailed)
        throw invalidProof(`The DPoP proof ${err.claim} claim is missing or invalid.`, err);
      throw invalidProof('The DPoP proof is malformed.', err);
    }

    // Check 3 / §11.1: `jti` is a string of bounded length (it is stored).
    const { jti, htm, htu, iat, ath } = payload;
    if (typeof jti !== 'string' || jti.length === 0 || jti.length > MAX_JTI_LENGTH) {
      throw invalidProof('The DPoP proof jti is missing or invalid.');
    }
    // Check 8: `htm` equals the request method (case-sensitive, RFC 9110 §9.1).
    if (htm !== request.method) throw invalidProof('The DPoP proof htm does not match the request method.');
    // Check 9: `htu` equals the request URL, ignoring query and fragment, after RFC 3986 §6.2.2 normalization.
    const expected = normalizeHtu(request.url);
    if (expected === undefined) throw new TypeError('DpopVerifier: `url` must be an absolute http(s) URL.');
    if (typeof htu !== 'string' || normalizeHtu(htu) !== expected) {
      throw invalidProof('The DPoP proof htu does not match the request URL.');
    }
    // Check 11: `iat` within the acceptance window W (§11.1), in both directions.
    const nowSeconds = now / 1000;
    if (typeof iat !== 'number' || !Number.isFinite(iat) || Math.abs(nowSeconds - iat) > DPOP_IAT_WINDOW) {
      throw invalidProof('The DPoP proof iat is outside the acceptable window.');
    }
    // Check 12 (first half): `ath` is the hash of exactly this access token (§4.2; exact base64url, no padding).
    if (typeof ath !== 'string' || ath !== (request.accessTokenHash ?? accessTokenHash(request.accessToken))) {
      throw invalidProof('The DPoP proof ath does not match the access token.');
    }

    // RFC 7638: the thumbprint the token's `cnf.jkt` must equal (RFC 9449 §6.1).
    const jkt = await calculateJwkThumbprint(jwk as JWK, 'sha256');
    const jtiHash = hash('sha256', jti, 'base64url');
    // Remember the jti until the proof could no longer pass check 11 on any instance's clock.
    const replayTtl = Math.max(1, Math.ceil(iat + DPOP_IAT_WINDOW - nowSeconds + this.options.clockTolerance));
    return { jkt, replayKey: `dpop:${jkt}:${jtiHash}`, replayTtl };
  }

  /**
   * RFC 9449 §11.1: a proof's `jti` is accepted once. Call after every other check passed, so a proof
   * that fails for another reason does not use up its `jti`. Throws `ERR_OIDC_INVALID_DPOP_PROOF` on replay.
   */
  async recordJti(proof: CheckedDpopProof): Promise<void> {
    if (!(await this.replay.recordOnce(proof.replayKey, proof.replayTtl))) {
      throw invalidProof('The DPoP proof has already been used.');
    }
  }
}
