import { Inject, Injectable, Logger, Optional } from '@nestjs/common';
import { compactVerify, errors as joseErrors, importJWK, type JWK } from 'jose';
import type { ResolvedOidcOptions } from '../config/resolve-oidc-options.js';
import { OidcDiscoveryService } from '../discovery/oidc-discovery.service.js';
import { classifyOpError } from '../errors/classify-op-error.js';
import { logText } from '../errors/log-text.js';
import { OidcError } from '../errors/oidc.error.js';
import { isLoopback } from '../http/loopback.js';
import { OIDC_CLOCK, OIDC_OPTIONS, type OidcClock } from '../oidc.constants.js';
import { OidcTelemetry, traced } from '../telemetry/oidc-telemetry.js';
import { isPlainObject } from '../claims/claims.validation.js';
import { checkTrustedIssuer } from '../bearer/issuer-trust.js';

/**
 * Timing of {@link JwksCache}. The module provides {@link DEFAULT_JWKS_CACHE_SETTINGS} under {@link JWKS_CACHE_SETTINGS}; a
 * unit spec that constructs the cache itself passes shorter timings to the constructor instead.
 */
export interface JwksCacheSettings {
  /**
   * Seconds between two refetches caused by a token whose `kid` is unknown (RS-01): a sustained flood of random
   * `kid`s costs the OP at most 60 / cooldown fetches a minute (12), and a key the OP publishes is accepted within
   * one cooldown (RS-02). @default 5
   */
  cooldown: number;
  /** Seconds after which keys are refetched in the background, so removed keys stop working (BR-17). @default 600 */
  maxAge: number;
  /** Largest discovery or JWKS response read, in bytes. @default 524288 */
  maxResponseBytes: number;
}

/**
 * Injection token of the {@link JwksCacheSettings} (partial; the rest defaults).
 *
 * @internal
 */
export const JWKS_CACHE_SETTINGS = Symbol('nestjs-oidc:jwks-cache-settings');

/** @internal */
export const DEFAULT_JWKS_CACHE_SETTINGS: JwksCacheSettings = Object.freeze({ cooldown: 5, maxAge: 600, maxResponseBytes: 512 * 1024 });

/** Keys kept per issuer; a JWKS with more is cut (a real OP publishes a handful). */
const MAX_KEYS = 100;
/**
 * Issuers whose keys are kept at once; with a per-request `bearer.issuers` resolver (tenants) the least
 * recently used idle issuer is dropped beyond it (its keys are fetched again when next needed).
 */
const MAX_ISSUERS = 1000;
/** First delay before retrying a JWKS that could not be had at all; doubles up to {@link MAX_RETRY_MS}. */
const FIRST_RETRY_MS = 1000;
/** Longest delay between two attempts at a JWKS that could never be had (an OP that is down is not hammered). */
const MAX_RETRY_MS = 30_000;
/** Without a `kid`, at most this many candidate keys are tried (bounds the work a forged token costs). */
export const MAX_KEY_ATTEMPTS = 5;

/** RFC 7518 §3.1 / RFC 8037 §3.1: the key type (and curve) each signature algorithm needs. */
const KEY_TYPE_OF_ALG: Readonly<Record<string, { kty: string; crv?: readonly string[] }>> = Object.freeze({
  RS256: { kty: 'RSA' },
  RS384: { kty: 'RSA' },
  RS512: { kty: 'RSA' },
  PS256: { kty: 'RSA' },
  PS384: { kty: 'RSA' },
  PS512: { kty: 'RSA' },
  ES256: { kty: 'EC', crv: ['P-256'] },
  ES384: { kty: 'EC', crv: ['P-384'] },
  ES512: { kty: 'EC', crv: ['P-521'] },
  EdDSA: { kty: 'OKP', crv: ['Ed25519', 'Ed448'] },
  Ed25519: { kty: 'OKP', crv: ['Ed25519'] },
});

/** One public key of an issuer's JWKS, imported lazily once per algorithm. */
export class VerificationKey {
  private readonly imported = new Map<string, Promise<CryptoKey>>();
  /** The imported keys, once imported (for {@link importedKey}). @internal */
  private readonly ready = new Map<string, CryptoKey>();

  constructor(
    /** The public JWK as published (frozen). */
    readonly jwk: Readonly<JWK>,
    /** Identity across refetches: an unchanged key keeps its object, so verified tokens stay valid. */
    readonly fingerprint: string,
  ) {}

  /**
   * RFC 8725 §3.1 / BR-10: a key is only used with the algorithm it is for — `kid` equal when the token
   * names one, `kty`/`crv` fitting the algorithm, and the JWK's own `alg` (RFC 7517 §4.4) equal when present.
   */
  fits(alg: string, kid: string | undefined): boolean {
    if (kid !== undefined && this.jwk.kid !== kid) return false;
    if (this.jwk.alg !== undefined && this.jwk.alg !== alg) return false;
    const wanted = KEY_TYPE_OF_ALG[alg];
    if (!wanted || this.jwk.kty !== wanted.kty) return false;
    return !wanted.crv || wanted.crv.includes(this.jwk.crv as string);
  }

  /** The WebCrypto key for `alg` (imported by jose once, then reused). */
  cryptoKey(alg: string): Promise<CryptoKey> {
    let key = this.imported.get(alg);
    if (!key) {
      key = importJWK({ ...this.jwk }, alg) as Promise<CryptoKey>;
      this.imported.set(alg, key);
      void key.then(
        (cryptoKey) => this.ready.set(alg, cryptoKey),
        () => undefined,
      );
    }
    return key;
  }

  /**
   * The WebCrypto key for `alg` once {@link cryptoKey} has imported it, else undefined: a verification with a key in use
   * skips a promise turn.
   *
   * @internal
   */
  importedKey(alg: string): CryptoKey | undefined {
    return this.ready.get(alg);
  }
}

interface IssuerKeys {
  readonly issuer: string;
  /** The last good key set; kept when a refetch fails. */
  keys?: readonly VerificationKey[];
  /** epoch ms of the last successful fetch */
  fetchedAt: number;
  /** epoch ms when the last fetch started (successful or not): the unknown-kid cooldown counts from here */
  fetchStartedAt: number;
  /** one fetch in flight per issuer, however many requests wait for it */
  inflight?: Promise<void>;
  /** consecutive failures, and when a key-less issuer may be tried again */
  failures: number;
  retryAt: number;
  lastError?: OidcError;
  jwksUri?: URL;
}

/** Keys this module may verify with; everything else in a JWKS is ignored. */
function isUsableJwk(value: unknown): value is JWK {
  if (!isPlainObject(value)) return false;
  // RFC 8725 §3.1: asymmetric keys only — an `oct` key would allow HMAC forgery with public material.
  if (value.kty !== 'RSA' && value.kty !== 'EC' && value.kty !== 'OKP') return false;
  // RFC 7517 §4.2: a key for encryption is not a signature key.
  if (value.use !== undefined && value.use !== 'sig') return false;
  // RFC 7517 §4.3: when operations are listed, `verify` must be one of them.
  if (value.key_ops !== undefined && !(Array.isArray(value.key_ops) && value.key_ops.includes('verify'))) return false;
  if (value.kid !== undefined && typeof value.kid !== 'string') return false;
  if (value.alg !== undefined && typeof value.alg !== 'string') return false;
  // A JWKS that leaks a private key is broken; never verify with it (RFC 7517 §9.2).
  return !('d' in value);
}

function fingerprint(jwk: JWK): string {
  return JSON.stringify(
    Object.keys(jwk)
      .sort()
      .map((k) => [k, (jwk as Record<string, unknown>)[k]]),
  );
}

/**
 * The signing keys of each trusted access-token issuer (`bearer.issuers`, static or resolved per request).
 *
 * - `jwks_uri` comes from discovery: {@link OidcDiscoveryService} for the configured issuer, the issuer's own
 *   `/.well-known/openid-configuration` for the others (its `issuer` must equal the trusted value).
 * - One fetch in flight per issuer, however many requests arrive while the keys are not known.
 * - Keys are kept until a token names an unknown `kid`; that triggers at most one refetch per `cooldown`
 *   (5 s) per issuer (RS-01), counted from the last fetch — at most 12 a minute however long a flood lasts — so a flood of random `kid`s neither hammers the OP
 *   nor delays a genuinely rotated key beyond the next window (RS-02).
 * - After `maxAge` keys are refetched in the background, so a key the OP removed stops working (BR-17).
 * - A failed or garbage refetch keeps the last good keys. Calls never follow redirects (RFC 9700 §4.12)
 *   and are bounded by `http.timeout`.
 */
@Injectable()
export class JwksCache {
  private readonly logger = new Logger('OidcBearer');
  private readonly issuers = new Map<string, IssuerKeys>();
  private readonly settings: JwksCacheSettings;

  constructor(
    @Inject(OIDC_OPTIONS) private readonly options: ResolvedOidcOptions,
    private readonly discovery: OidcDiscoveryService,
    @Inject(OIDC_CLOCK) private readonly clock: OidcClock,
    @Optional() @Inject(JWKS_CACHE_SETTINGS) settings?: Partial<JwksCacheSettings>,
    @Optional() private readonly telemetry?: OidcTelemetry,
  ) {
    this.settings = { ...DEFAULT_JWKS_CACHE_SETTINGS, ...settings };
  }

  /**
   * Keys of `issuer` usable for a token signed with `alg` and naming `kid` (none when nothing fits).
   * `trusted` is the list of issuers the caller checked the token's `iss` against (the request's, when
   * `bearer.issuers` is a resolver); by default the static `bearer.issuers`.
   * Throws `ERR_OIDC_KEYS_UNAVAILABLE` (503) while the issuer's keys could never be fetched.
   */
  async keysFor(issuer: string, alg: string, kid: string | undefined, trusted?: readonly string[]): Promise<VerificationKey[]> {
    const state = this.stateOf(issuer, trusted);
    const now = this.clock.now();
    if (!state.keys) {
      await this.firstLoad(state, now);
    } else if (now - state.fetchedAt >= this.settings.maxAge * 1000) {
      this.refreshInBackground(state);
    }
    const found = this.match(state, alg, kid);
    if (found.length) return found;
    // OIDC Core §10.1.1: an unknown kid may be a rotated key. Wait for a fetch already running, or start
    // one if the cooldown since the last fetch has passed; otherwise refuse at once (RS-01).
    if (state.inflight) {
      await state.inflight.catch(() => undefined);
    } else if (now - state.fetchStartedAt >= this.settings.cooldown * 1000) {
      await this.refresh(state).catch(() => undefined);
    }
    return this.match(state, alg, kid);
  }

  /**
   * The key of `issuer` that verifies the signature of the compact JWS `token` for `alg` (RFC 7515 §5.2), for
   * the OP's own ID and logout tokens: the same keys, the same unknown-`kid` refetch and cooldown as access
   * tokens. At most {@link MAX_KEY_ATTEMPTS} candidates are tried when the token names no `kid`. Throws
   * `ERR_OIDC_INVALID_RESPONSE` naming the `kid` found and the ones published, or the failed signature.
   */
  async verifiedKey(token: string, issuer: string, alg: string, kid: string | undefined, what: string): Promise<CryptoKey> {
    const keys = await this.keysFor(issuer, alg, kid, [issuer]);
    if (keys.length === 0) {
      const published = (this.issuers.get(issuer)?.keys ?? []).map((k) => k.jwk.kid ?? '(no kid)');
      throw new OidcError(
        'ERR_OIDC_INVALID_RESPONSE',
        `${what} names kid "${logText(kid ?? '(none)', 80)}" for ${alg}, but the OP's JWKS has no such ${alg} key (it publishes: ${published.map((k) => logText(k, 80)).join(', ') || 'none'}). ` +
          `A key published since is picked up at the next refetch (at most one per ${this.settings.cooldown} s).`,
      );
    }
    let lastError: unknown;
    for (const key of keys.slice(0, MAX_KEY_ATTEMPTS)) {
      try {
        const cryptoKey = await key.cryptoKey(alg);
        // RFC 8725 §3.1: the one pinned algorithm, nothing else.
        await compactVerify(token, cryptoKey, { algorithms: [alg] });
        return cryptoKey;
      } catch (err) {
        lastError = err;
        if (
          err instanceof joseErrors.JWSSignatureVerificationFailed ||
          err instanceof TypeError ||
          err instanceof joseErrors.JOSENotSupported
        )
          continue;
        throw new OidcError(
          'ERR_OIDC_INVALID_RESPONSE',
          `${what} is not a valid JWS (${err instanceof joseErrors.JOSEError ? err.code : 'malformed'}).`,
          { cause: err },
        );
      }
    }
    throw new OidcError(
      'ERR_OIDC_INVALID_RESPONSE',
      `${what} signature does not verify with the OP's ${alg} key${kid ? ` "${logText(kid, 80)}"` : 's'}.`,
      { cause: lastError },
    );
  }

  /**
   * Whether `key` is still published by `issuer` (a token verified with a key the OP has since removed
   * must not stay valid from the verified-token cache, BR-17). Starts a background refresh when due.
   */
  isCurrent(issuer: string, key: VerificationKey): boolean {
    const state = this.issuers.get(issuer);
    if (!state?.keys) return false;
    if (this.clock.now() - state.fetchedAt >= this.settings.maxAge * 1000) this.refreshInBackground(state);
    return state.keys.includes(key);
  }

  /**
   * Settles once no key fetch of `issuer` is in flight, a background refresh included (whether it succeeded or not):
   * lets a caller observe that a refresh has landed instead of waiting a guessed time.
   *
   * @internal
   */
  async idle(issuer: string): Promise<void> {
    for (let inflight = this.issuers.get(issuer)?.inflight; inflight; inflight = this.issuers.get(issuer)?.inflight) {
      await inflight.catch(() => undefined);
    }
  }

  private stateOf(issuer: string, trusted: readonly string[] | undefined): IssuerKeys {
    // Defence in depth: callers check the issuer first; keys are only ever fetched for trusted issuers.
    const configured = this.options.bearer?.issuers;
    const allowed = trusted ?? (Array.isArray(configured) ? configured : []);
    // The configured OP's own keys (its ID and logout tokens) are always wanted, under its published issuer.
    if (issuer !== this.discovery.issuer) checkTrustedIssuer(issuer, allowed);
    let state = this.issuers.get(issuer);
    if (state) {
      // Most recently used last (Map iteration order is insertion order), for the MAX_ISSUERS bound.
      this.issuers.delete(issuer);
      this.issuers.set(issuer, state);
      return state;
    }
    if (this.issuers.size >= MAX_ISSUERS) {
      for (const [name, old] of this.issuers) {
        if (!old.inflight) {
          this.issuers.delete(name);
          break;
        }
      }
    }
    state = { issuer, fetchedAt: 0, fetchStartedAt: 0, failures: 0, retryAt: 0 };
    this.issuers.set(issuer, state);
    return state;
  }

  private match(state: IssuerKeys, alg: string, kid: string | undefined): VerificationKey[] {
    return (state.keys ?? []).filter((key) => key.fits(alg, kid));
  }

  private async firstLoad(state: IssuerKeys, now: number): Promise<void> {
    if (state.inflight) await state.inflight.catch(() => undefined);
    else if (now >= state.retryAt) await this.refresh(state).catch(() => undefined);
    if (!state.keys) {
      throw new OidcError('ERR_OIDC_KEYS_UNAVAILABLE', `The signing keys of ${state.issuer} are not available yet; retrying.`, {
        cause: state.lastError,
      });
    }
  }

  private refreshInBackground(state: IssuerKeys): void {
    if (!state.inflight) this.refresh(state).catch(() => undefined);
  }

  private refresh(state: IssuerKeys): Promise<void> {
    if (state.inflight) return state.inflight;
    state.fetchStartedAt = this.clock.now();
    const inflight: Promise<void> = this.fetchKeys(state)
      .then(
        (keys) => {
          state.keys = keys;
          state.fetchedAt = this.clock.now();
          state.failures = 0;
          state.retryAt = 0;
          state.lastError = undefined;
        },
        (err: unknown) => {
          state.failures += 1;
          state.retryAt = this.clock.now() + Math.min(FIRST_RETRY_MS * 2 ** (state.failures - 1), MAX_RETRY_MS);
          state.lastError = err instanceof OidcError ? err : classifyOpError(err, 'the JWKS request');
          const kept = state.keys ? `; keeping the ${state.keys.length} key(s) fetched before` : '';
          this.logger.warn(`Fetching the signing keys of ${state.issuer} failed (${state.lastError.message})${kept}.`);
          throw state.lastError;
        },
      )
      .finally(() => {
        if (state.inflight === inflight) state.inflight = undefined;
      });
    state.inflight = inflight;
    return inflight;
  }

  private async fetchKeys(state: IssuerKeys): Promise<VerificationKey[]> {
    state.jwksUri ??= await this.jwksUri(state.issuer);
    const jwksUri = state.jwksUri;
    this.telemetry?.count('oidc.jwks.fetches', { 'oidc.issuer': state.issuer });
    const body = await traced(this.telemetry, 'oidc.jwks.fetch', { 'oidc.issuer': state.issuer }, () =>
      this.fetchJson(jwksUri, 'the JWKS request'),
    );
    if (!isPlainObject(body) || !Array.isArray(body.keys)) {
      throw new OidcError('ERR_OIDC_OP_UNAVAILABLE', `The JWKS of ${state.issuer} is not a JWK Set.`);
    }
    const usable = body.keys.filter(isUsableJwk).slice(0, MAX_KEYS);
    // An empty set is treated as a broken answer: keep the last good keys rather than refuse every token.
    if (usable.length === 0) {
      throw new OidcError('ERR_OIDC_OP_UNAVAILABLE', `The JWKS of ${state.issuer} holds no usable signature key.`);
    }
    const previous = new Map((state.keys ?? []).map((key) => [key.fingerprint, key]));
    return usable.map((jwk) => {
      const fp = fingerprint(jwk);
      return previous.get(fp) ?? new VerificationKey(Object.freeze({ ...jwk }), fp);
    });
  }

  private async jwksUri(issuer: string): Promise<URL> {
    let uri: unknown;
    if (issuer === this.discovery.issuer || issuer === this.options.issuer) {
      uri = (await this.discovery.getMetadata()).jwks_uri;
    } else {
      // OIDC Discovery §4: the issuer's own metadata; §4.3: its `issuer` must be exactly the trusted value.
      const base = issuer.endsWith('/') ? issuer.slice(0, -1) : issuer;
      const metadataUrl = this.checkedUrl(`${base}/.well-known/openid-configuration`, issuer);
      const metadata = await this.fetchJson(metadataUrl, 'discovery');
      if (!isPlainObject(metadata) || metadata.issuer !== issuer) {
        throw new OidcError('ERR_OIDC_OP_UNAVAILABLE', `The discovery document of ${issuer} does not name that issuer.`);
      }
      uri = metadata.jwks_uri;
    }
    if (typeof uri !== 'string') throw new OidcError('ERR_OIDC_OP_UNAVAILABLE', `The metadata of ${issuer} has no jwks_uri.`);
    return this.checkedUrl(uri, issuer);
  }

  /** RFC 9700 §2.6: keys only over TLS, except on loopback or with `allowInsecureRequests`. */
  private checkedUrl(value: string, issuer: string): URL {
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      throw new OidcError('ERR_OIDC_OP_UNAVAILABLE', `The metadata of ${issuer} names an invalid URL.`);
    }
    const insecureOk = url.protocol === 'http:' && (isLoopback(url) || this.options.allowInsecureRequests);
    if (url.protocol !== 'https:' && !insecureOk) {
      throw new OidcError('ERR_OIDC_OP_UNAVAILABLE', `The metadata of ${issuer} names a non-https URL (${url.protocol}).`);
    }
    return url;
  }

  /** GET a JSON document: `http.timeout`, no redirects (RS-05), a size cap, 200 only. */
  private async fetchJson(url: URL, what: string): Promise<unknown> {
    const response = await fetch(url, {
      redirect: 'manual',
      signal: AbortSignal.timeout(this.options.http.timeout),
      headers: { accept: 'application/json, application/jwk-set+json' },
    });
    if (response.status !== 200) {
      await response.body?.cancel().catch(() => undefined);
      throw new OidcError('ERR_OIDC_OP_UNAVAILABLE', `The OpenID Provider answered ${what} with HTTP ${response.status}.`);
    }
    const reader = response.body?.getReader();
    const chunks: Uint8Array[] = [];
    let size = 0;
    for (;;) {
      const chunk = reader ? await reader.read() : { done: true as const, value: undefined };
      if (chunk.done) break;
      size += chunk.value.byteLength;
      if (size > this.settings.maxResponseBytes) {
        await reader?.cancel().catch(() => undefined);
        throw new OidcError('ERR_OIDC_OP_UNAVAILABLE', `The OpenID Provider's answer to ${what} is too large.`);
      }
      chunks.push(chunk.value);
    }
    try {
      return JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch {
      throw new OidcError('ERR_OIDC_OP_UNAVAILABLE', `The OpenID Provider's answer to ${what} is not JSON.`);
    }
  }
}
