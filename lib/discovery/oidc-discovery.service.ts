import { Inject, Injectable, Logger, type OnApplicationShutdown, type OnModuleInit, Optional } from '@nestjs/common';
import * as client from 'openid-client';
import { ASYMMETRIC_ALGORITHMS, FAPI2_ALGORITHMS, type ResolvedOidcOptions } from '../config/resolve-oidc-options.js';
import { classifyOpError } from '../errors/classify-op-error.js';
import { logText } from '../errors/log-text.js';
import { OidcError } from '../errors/oidc.error.js';
import { OIDC_CLOCK, OIDC_OPTIONS, type OidcClock } from '../oidc.constants.js';
import { OidcTelemetry, traced } from '../telemetry/oidc-telemetry.js';
import { ProviderMetadata } from '../claims/provider-metadata.js';

/** ID token algorithms we pin, in order of preference (OIDC Core §15.1: RS256 is mandatory to implement). */
const ID_TOKEN_ALG_PREFERENCE = ['RS256', 'ES256', 'PS256', 'EdDSA', 'ES384', 'RS384', 'PS384', 'ES512', 'RS512', 'PS512'];

const FIRST_RETRY_MS = 1000;
const MAX_RETRY_MS = 30_000;

/**
 * Provider metadata and the openid-client `Configuration` of the configured issuer: discovered once
 * (one request in flight however many callers), retried with backoff while the OP is unreachable — the
 * app starts anyway, and what needs the OP answers 503 until it works.
 */
@Injectable()
export class OidcDiscoveryService implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('OidcDiscovery');
  private configuration?: client.Configuration;
  private inflight?: Promise<client.Configuration>;
  private retryTimer?: NodeJS.Timeout;
  private retryDelay = FIRST_RETRY_MS;
  private nextAttemptAt = 0;
  private lastError?: OidcError;
  private closed = false;
  private published?: string;
  private publishedList?: readonly string[];
  private warnedTrailingSlash = false;

  constructor(
    @Inject(OIDC_OPTIONS) private readonly options: ResolvedOidcOptions,
    @Inject(OIDC_CLOCK) private readonly clock: OidcClock,
    @Optional() private readonly telemetry?: OidcTelemetry,
  ) {}

  onModuleInit(): void {
    this.attempt().catch(() => undefined);
  }

  onApplicationShutdown(): void {
    this.closed = true;
    clearTimeout(this.retryTimer);
  }

  /**
   * The issuer string every `iss` is compared with: the one the OP publishes in its discovery document
   * (OIDC Discovery §4.3), which may differ from the `issuer` option by a trailing slash. Before discovery
   * succeeds, the configured string.
   */
  get issuer(): string {
    return this.published ?? this.options.issuer;
  }

  /**
   * {@link issuer} as a one-element frozen list once discovered (the default `bearer.issuers`), else undefined.
   *
   * @internal
   */
  get discoveredIssuers(): readonly string[] | undefined {
    return this.publishedList;
  }

  /** Whether discovery has succeeded. */
  get ready(): boolean {
    return this.configuration !== undefined;
  }

  /**
   * The openid-client configuration; waits for a discovery already in flight. Throws
   * `ERR_OIDC_DISCOVERY_UNAVAILABLE` (503) while the OP's metadata cannot be had.
   *
   * @internal
   */
  async getConfiguration(): Promise<client.Configuration> {
    if (this.configuration) return this.configuration;
    if (this.inflight) return this.inflight;
    if (this.clock.now() >= this.nextAttemptAt) return this.attempt();
    throw this.unavailable();
  }

  /**
   * The ID token signing algorithm pinned for this client (OIDC Core §3.1.3.7 step 7).
   *
   * @internal
   */
  async getIdTokenAlgorithm(): Promise<string> {
    const config = await this.getConfiguration();
    return config.clientMetadata().id_token_signed_response_alg as string;
  }

  /**
   * The OP's metadata as a {@link ProviderMetadata} (its class-validator decorators document the members the
   * module relies on; the document itself is the one openid-client accepted at discovery — `issuer` checked
   * against the configured one, OIDC Discovery §4.3 — and is not validated again here).
   *
   * @see OpenID Connect Discovery 1.0 §3, §4.3
   */
  async getMetadata(): Promise<ProviderMetadata> {
    const config = await this.getConfiguration();
    return Object.assign(new ProviderMetadata(), config.serverMetadata());
  }

  private unavailable(): OidcError {
    return new OidcError(
      'ERR_OIDC_DISCOVERY_UNAVAILABLE',
      `The OpenID Provider metadata of ${this.options.issuer} is not available yet; retrying in the background.`,
      { cause: this.lastError },
    );
  }

  private attempt(): Promise<client.Configuration> {
    this.inflight ??= this.discover().then(
      (config) => {
        this.configuration = config;
        this.inflight = undefined;
        this.retryDelay = FIRST_RETRY_MS;
        this.logger.log(`Discovered ${this.issuer}`);
        return config;
      },
      (err: unknown) => {
        this.inflight = undefined;
        this.lastError = err instanceof OidcError ? err : classifyOpError(err, 'discovery');
        this.logger.warn(`Discovery of ${this.options.issuer} failed (${this.lastError.message}); retrying in ${this.retryDelay} ms.`);
        this.scheduleRetry();
        throw this.unavailable();
      },
    );
    return this.inflight;
  }

  private scheduleRetry(): void {
    if (this.closed) return;
    const delay = this.retryDelay;
    this.nextAttemptAt = this.clock.now() + delay;
    this.retryDelay = Math.min(this.retryDelay * 2, MAX_RETRY_MS);
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => {
      if (!this.configuration && !this.closed) this.attempt().catch(() => undefined);
    }, delay);
    this.retryTimer.unref();
  }

  private discover(): Promise<client.Configuration> {
    return traced(this.telemetry, 'oidc.discovery', { 'oidc.issuer': this.options.issuer }, () => this.discoverNow());
  }

  private async discoverNow(): Promise<client.Configuration> {
    const o = this.options;
    const timeoutSeconds = Math.max(1, Math.ceil(o.http.timeout / 1000));
    const execute = o.allowInsecureRequests || new URL(o.issuer).protocol === 'http:' ? [client.allowInsecureRequests] : [];
    const fetchDocument = (issuer: string) =>
      client.discovery(new URL(issuer), o.clientId, undefined, undefined, {
        execute,
        timeout: timeoutSeconds,
        [client.customFetch]: this.fetchWithTimeout,
      });
    let discovered: client.Configuration;
    try {
      discovered = await fetchDocument(o.issuer);
    } catch (err) {
      const published = publishedIssuerOf(err);
      // OIDC Discovery §4.3: the document's `issuer` must be the configured one. A trailing slash is the one
      // difference tolerated (Auth0, authentik publish `…/`): the OP's own string is then used everywhere.
      if (published === undefined || !differOnlyByTrailingSlash(published, o.issuer)) throw describeDiscoveryFailure(err, o.issuer);
      discovered = await fetchDocument(published);
    }
    const server = discovered.serverMetadata();
    // OIDC Discovery §4.3 / RFC 9207: every `iss` check (ID, logout and access tokens) compares with exactly
    // the string the OP publishes; openid-client compares after URL normalisation, so check the string here.
    if (server.issuer !== o.issuer) {
      if (!differOnlyByTrailingSlash(server.issuer, o.issuer)) {
        throw new OidcError(
          'ERR_OIDC_DISCOVERY_UNAVAILABLE',
          `The discovery document of ${o.issuer} names another issuer, "${logText(server.issuer)}" (OIDC Discovery §4.3). Set \`issuer\` to exactly the OP's issuer string.`,
        );
      }
      if (!this.warnedTrailingSlash) {
        this.warnedTrailingSlash = true;
        this.logger.warn(
          `The OP publishes its issuer as "${logText(server.issuer)}" but \`issuer\` is "${o.issuer}" (they differ only by a trailing slash); ` +
            `using the OP's string for every iss check. Set \`issuer: '${logText(server.issuer)}'\` to silence this.`,
        );
      }
    }
    this.published = server.issuer;
    this.publishedList = Object.freeze([server.issuer]);

    // OIDC Core §3.1.3.7 steps 6–8, RFC 8725 §3.1: pin one algorithm for ID tokens, never `none`: the
    // configured one, else the OP's advertised asymmetric one.
    const offered = server.id_token_signing_alg_values_supported ?? ['RS256'];
    // FAPI 2.0 Security Profile §5.4: PS256, ES256 or EdDSA only.
    const acceptable: readonly string[] = o.profile === 'fapi2' ? FAPI2_ALGORITHMS : ASYMMETRIC_ALGORITHMS;
    const preference = o.profile === 'fapi2' ? FAPI2_ALGORITHMS : ID_TOKEN_ALG_PREFERENCE;
    const alg = o.idTokenSigningAlg ?? preference.find((a) => offered.includes(a) && acceptable.includes(a));
    if (!alg) {
      throw new OidcError(
        'ERR_OIDC_DISCOVERY_UNAVAILABLE',
        `The OP ${o.issuer} advertises no ${o.profile === 'fapi2' ? 'FAPI 2.0 (PS256, ES256, EdDSA)' : 'asymmetric'} ID token signing algorithm (it offers: ${offered.map((a) => logText(a, 20)).join(', ')}). ` +
          'If it signs ID tokens with the client secret, set `idTokenSigningAlg` (e.g. "HS256").',
      );
    }
    const metadata: Partial<client.ClientMetadata> = {
      client_id: o.clientId,
      // RS-08: one leeway for every time-based check, the module's `clockTolerance`.
      [client.clockTolerance]: o.clockTolerance,
      id_token_signed_response_alg: alg,
      redirect_uris: [o.redirectUri],
    };
    if (o.clientSecret) metadata.client_secret = o.clientSecret;
    const config = new client.Configuration(server, o.clientId, metadata, await this.clientAuth());
    if (execute.length) client.allowInsecureRequests(config);
    // OIDC Core §3.1.3.7 step 6: ID token signatures are verified even from the token endpoint — by the
    // module's IdTokenVerifier, with the one key cache shared with logout and access tokens (JwksCache).
    config[client.customFetch] = this.fetchWithTimeout;
    config.timeout = timeoutSeconds;
    return config;
  }

  private async clientAuth(): Promise<client.ClientAuth> {
    const o = this.options;
    switch (o.clientAuthMethod) {
      case 'client_secret_basic':
        return client.ClientSecretBasic(o.clientSecret!);
      case 'client_secret_post':
        return client.ClientSecretPost(o.clientSecret!);
      case 'private_key_jwt': {
        const { importJWK } = await import('jose');
        const jwk = o.clientPrivateKey!;
        const key = (await importJWK(jwk, jwk.alg ?? 'RS256')) as CryptoKey;
        return client.PrivateKeyJwt({ key, kid: jwk.kid });
      }
      default:
        return client.None();
    }
  }

  /**
   * Every call to the OP is bounded by `http.timeout` (RS-04) and never follows redirects (RS-05,
   * RFC 9700 §4.12: a redirect must not carry the client's credentials elsewhere).
   */
  private readonly fetchWithTimeout: client.CustomFetch = async (url, init) => {
    const signal = init.signal
      ? AbortSignal.any([init.signal, AbortSignal.timeout(this.options.http.timeout)])
      : AbortSignal.timeout(this.options.http.timeout);
    const response = await fetch(url, { ...init, signal, redirect: 'manual' } as RequestInit);
    if (response.status === 200 && url === this.configuration?.serverMetadata().token_endpoint) {
      await assertJsonObjectResponse(response);
    }
    return response;
  };
}

/**
 * RFC 6749 §5.1: a successful token response is `application/json` holding a JSON object. openid-client
 * only looks at the content type when parsing fails, so an HTML page or a JSON array labelled otherwise
 * would surface later as a token validation failure (401) instead of a broken OP (502, LF-24 e).
 */
async function assertJsonObjectResponse(response: Response): Promise<void> {
  const contentType = (response.headers.get('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
  let body: unknown;
  try {
    body = contentType === 'application/json' ? JSON.parse(await response.clone().text()) : undefined;
  } catch {
    body = undefined;
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new OidcError('ERR_OIDC_OP_UNAVAILABLE', "The OpenID Provider's token endpoint did not answer with a JSON object.");
  }
}

/** `a` and `b` are the same string but for one trailing `/` (the only issuer difference tolerated). */
function differOnlyByTrailingSlash(a: string, b: string): boolean {
  return a !== b && a.replace(/\/$/, '') === b.replace(/\/$/, '');
}

/** The `issuer` a discovery document published, when openid-client refused it for not matching. */
function publishedIssuerOf(err: unknown): string | undefined {
  type Detail = { attribute?: unknown; body?: { issuer?: unknown }; cause?: Detail };
  const outer = (err as { cause?: Detail } | undefined)?.cause;
  // openid-client's ClientError carries oauth4webapi's detail as its cause (or, wrapped, as the cause's cause).
  for (const detail of [outer, outer?.cause]) {
    if (detail?.attribute === 'issuer' && typeof detail.body?.issuer === 'string') return detail.body.issuer;
  }
  return undefined;
}

/**
 * Discovery failures in words a developer can act on: another issuer (both strings), an HTTP error at the
 * well-known URL (404: a wrong issuer path), a document that is not JSON.
 */
function describeDiscoveryFailure(err: unknown, issuer: string): unknown {
  const wellKnown = `${issuer.replace(/\/$/, '')}/.well-known/openid-configuration`;
  const published = publishedIssuerOf(err);
  if (published !== undefined) {
    return new OidcError(
      'ERR_OIDC_DISCOVERY_UNAVAILABLE',
      `The discovery document at ${wellKnown} names the issuer "${logText(published)}", but \`issuer\` is "${issuer}" (OIDC Discovery §4.3: they must be identical). Set \`issuer\` to the OP's issuer string.`,
      { cause: err },
    );
  }
  const code = (err as { code?: unknown })?.code;
  const response = (err as { cause?: unknown })?.cause;
  if (code === 'OAUTH_RESPONSE_IS_NOT_CONFORM' && response instanceof Response) {
    const hint =
      response.status === 404
        ? " Check the `issuer` URL: it must be the OP's issuer (for Keycloak …/realms/<realm>), without /.well-known/…."
        : '';
    return new OidcError('ERR_OIDC_DISCOVERY_UNAVAILABLE', `${wellKnown} answered HTTP ${response.status}.${hint}`, { cause: err });
  }
  if (code === 'OAUTH_RESPONSE_IS_NOT_JSON' || code === 'OAUTH_PARSE_ERROR') {
    const type = response instanceof Response ? logText(response.headers.get('content-type') ?? 'none', 80) : 'unknown';
    return new OidcError(
      'ERR_OIDC_DISCOVERY_UNAVAILABLE',
      `${wellKnown} did not answer with a JSON discovery document (content-type: ${type}). Check the \`issuer\` URL.`,
      { cause: err },
    );
  }
  return err;
}
