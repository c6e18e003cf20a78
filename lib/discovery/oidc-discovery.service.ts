import { Inject, Injectable, Logger, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { createRemoteJWKSet, customFetch as joseCustomFetch, type JWTVerifyGetKey } from 'jose';
import * as client from 'openid-client';
import { ASYMMETRIC_ALGORITHMS, type ResolvedOidcOptions } from '../config/resolve-oidc-options.js';
import { classifyOpError } from '../errors/classify-op-error.js';
import { OidcError } from '../errors/oidc.error.js';
import { OIDC_OPTIONS } from '../oidc.constants.js';
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
  private jwks?: JWTVerifyGetKey;
  private inflight?: Promise<client.Configuration>;
  private retryTimer?: NodeJS.Timeout;
  private retryDelay = FIRST_RETRY_MS;
  private nextAttemptAt = 0;
  private lastError?: OidcError;
  private closed = false;

  constructor(@Inject(OIDC_OPTIONS) private readonly options: ResolvedOidcOptions) {}

  onModuleInit(): void {
    this.attempt().catch(() => undefined);
  }

  onApplicationShutdown(): void {
    this.closed = true;
    clearTimeout(this.retryTimer);
  }

  /** Whether discovery has succeeded. */
  get ready(): boolean {
    return this.configuration !== undefined;
  }

  /**
   * The openid-client configuration; waits for a discovery already in flight. Throws
   * `ERR_OIDC_DISCOVERY_UNAVAILABLE` (503) while the OP's metadata cannot be had.
   */
  async getConfiguration(): Promise<client.Configuration> {
    if (this.configuration) return this.configuration;
    if (this.inflight) return this.inflight;
    if (Date.now() >= this.nextAttemptAt) return this.attempt();
    throw this.unavailable();
  }

  /**
   * The OP's signing keys for verifying JWTs it issues (logout tokens): one fetch in flight, refetched on an
   * unknown `kid` at most once per 30 s (RS-01) and at the latest every 10 minutes (keys removed by the OP).
   */
  async getJwks(): Promise<JWTVerifyGetKey> {
    if (this.jwks) return this.jwks;
    const config = await this.getConfiguration();
    const jwksUri = config.serverMetadata().jwks_uri;
    if (!jwksUri) {
      throw new OidcError('ERR_OIDC_DISCOVERY_UNAVAILABLE', `The OP ${this.options.issuer} publishes no jwks_uri.`);
    }
    this.jwks ??= createRemoteJWKSet(new URL(jwksUri), {
      timeoutDuration: this.options.http.timeout,
      cooldownDuration: 30_000,
      cacheMaxAge: 600_000,
      [joseCustomFetch]: (url: string, init: RequestInit) => fetch(url, { ...init, redirect: 'manual' }),
    });
    return this.jwks;
  }

  /** The ID token signing algorithm pinned for this client (OIDC Core §3.1.3.7 step 7). */
  async getIdTokenAlgorithm(): Promise<string> {
    const config = await this.getConfiguration();
    return config.clientMetadata().id_token_signed_response_alg as string;
  }

  /** The OP's metadata, checked with class-validator. */
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
        this.logger.log(`Discovered ${this.options.issuer}`);
        return config;
      },
      (err: unknown) => {
        this.inflight = undefined;
        this.lastError = err instanceof OidcError && err.code === 'ERR_OIDC_INVALID_OPTIONS' ? err : classifyOpError(err, 'discovery');
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
    this.nextAttemptAt = Date.now() + delay;
    this.retryDelay = Math.min(this.retryDelay * 2, MAX_RETRY_MS);
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => {
      if (!this.configuration && !this.closed) this.attempt().catch(() => undefined);
    }, delay);
    this.retryTimer.unref();
  }

  private async discover(): Promise<client.Configuration> {
    const o = this.options;
    const timeoutSeconds = Math.max(1, Math.ceil(o.http.timeout / 1000));
    const execute = o.allowInsecureRequests || new URL(o.issuer).protocol === 'http:' ? [client.allowInsecureRequests] : [];
    // OIDC Discovery §4.3: openid-client checks the document's `issuer` equals the URL we asked.
    const discovered = await client.discovery(new URL(o.issuer), o.clientId, undefined, undefined, {
      execute,
      timeout: timeoutSeconds,
      [client.customFetch]: this.fetchWithTimeout,
    });
    const server = discovered.serverMetadata();

    // OIDC Core §3.1.3.7 steps 6–8, RFC 8725 §3.1: pin one asymmetric algorithm for ID tokens, never `none`.
    const offered = server.id_token_signing_alg_values_supported ?? ['RS256'];
    const alg = ID_TOKEN_ALG_PREFERENCE.find(
      (a) => offered.includes(a) && (ASYMMETRIC_ALGORITHMS as readonly string[]).includes(a),
    );
    if (!alg) {
      throw new OidcError(
        'ERR_OIDC_INVALID_OPTIONS',
        `The OP ${o.issuer} offers no asymmetric ID token signing algorithm (offers: ${offered.join(', ')}).`,
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
    // OIDC Core §3.1.3.7 step 6: verify ID token signatures even from the token endpoint.
    client.enableNonRepudiationChecks(config);
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
    throw new OidcError('ERR_OIDC_OP_UNAVAILABLE', 'The OpenID Provider\'s token endpoint did not answer with a JSON object.');
  }
}
