import { Inject, Injectable, Logger, Optional } from '@nestjs/common';
import * as client from 'openid-client';
import { toClaims } from '../claims/claims.validation.js';
import { IdTokenClaims } from '../claims/id-token-claims.js';
import type { ResolvedOidcOptions } from '../config/resolve-oidc-options.js';
import { OidcDiscoveryService } from '../discovery/oidc-discovery.service.js';
import { classifyOpError, opRefusalOf } from '../errors/classify-op-error.js';
import { logText } from '../errors/log-text.js';
import { DpopKeys, type SealedDpopKey } from './dpop-keys.js';
import { IdTokenVerifier } from './id-token.verifier.js';
import { BoundedCache } from '../cache/bounded-cache.js';
import { OidcError } from '../errors/oidc.error.js';
import type { PlatformRequest } from '../http/platform.js';
import { getOidcContext } from '../http/request-context.js';
import { OIDC_CLOCK, OIDC_OPTIONS, type OidcClock } from '../oidc.constants.js';
import { OidcEvents } from '../events/oidc-events.service.js';
import { OidcTelemetry, traced } from '../telemetry/oidc-telemetry.js';
import { UserInfoClaims } from '../claims/userinfo-claims.js';
import { OidcSessionService, type LoadedSession } from '../session/oidc-session.service.js';
import type { ResourceToken, SessionPayload } from '../session/session-payload.js';

/** Tokens the OP issued to the app itself (client credentials, token exchange). */
export interface OidcTokenSet {
  readonly accessToken: string;
  readonly tokenType: string;
  /** epoch seconds, when the OP said */
  readonly expiresAt?: number;
  readonly scope?: string;
  /** RFC 8693 §2.2.1 */
  readonly issuedTokenType?: string;
  readonly refreshToken?: string;
}

/** Parameters of {@link OidcTokenService.exchange} (RFC 8693 §2.1). */
export interface TokenExchangeParams {
  subjectToken: string;
  subjectTokenType: string;
  audience?: string | string[];
  resource?: string | string[];
  scope?: string;
  requestedTokenType?: string;
  actorToken?: string;
  actorTokenType?: string;
  /** Further parameters; reserved names (grant_type, client_id, subject_token, audience, scope, …) are refused. */
  extra?: Record<string, string | string[]>;
}

/** Client-credential tokens are renewed this many seconds before they expire. */
const CLIENT_TOKEN_MARGIN = 30;
/** Access tokens for other APIs kept per session (API.md §7.2); the oldest is dropped beyond it. */
const MAX_RESOURCE_TOKENS = 8;

/** The request {@link OidcTokenService.fetch} makes: method, body and headers (the `Authorization` header is its own). */
export interface OidcFetchInit {
  /** @default 'GET' */
  method?: string;
  body?: string | Uint8Array | URLSearchParams | null;
  headers?: Record<string, string> | Headers;
}

/** What {@link OidcTokenService.getAccessToken} is asked for: a token for another API (RFC 8707). */
export interface AccessTokenRequest {
  /** The API's resource indicator (RFC 8707 §2: an absolute URI without a fragment). */
  resource?: string;
  /** Down-scoping (RFC 6749 §6): at most the scopes the login granted. */
  scope?: string;
}
const CLIENT_TOKEN_CACHE_ENTRIES = 100;
const MAX_LIST = 10;
const MAX_EXTRA_PARAMS = 20;
/** RFC 8693 §2.1 and RFC 6749 §2.3: parameters `extra` may never set (compared case-insensitively). */
const RESERVED_EXCHANGE_PARAMS = new Set([
  'grant_type',
  'client_id',
  'client_secret',
  'client_assertion',
  'client_assertion_type',
  'subject_token',
  'subject_token_type',
  'actor_token',
  'actor_token_type',
  'audience',
  'resource',
  'scope',
  'requested_token_type',
  'code',
  'code_verifier',
  'redirect_uri',
  'refresh_token',
  'username',
  'password',
  'assertion',
  'device_code',
]);

/** The (resource, scope) a getAccessToken call asks for, checked; undefined for the session's own token. */
function checkAccessTokenRequest(request: AccessTokenRequest | undefined): { resource?: string; scope?: string } | undefined {
  if (request === undefined) return undefined;
  const { resource, scope } = request;
  if (resource !== undefined) {
    let url: URL | undefined;
    try {
      url = new URL(resource);
    } catch {
      url = undefined;
    }
    // RFC 8707 §2: an absolute URI, no fragment.
    if (typeof resource !== 'string' || resource.length > 2048 || !url || url.hash || resource.includes('#')) {
      throw new TypeError('getAccessToken(): `resource` must be an absolute URI without a fragment (RFC 8707 §2).');
    }
  }
  if (scope !== undefined && (typeof scope !== 'string' || scope.trim() === '' || scope.length > 2048)) {
    throw new TypeError('getAccessToken(): `scope` must be a non-empty space-separated string.');
  }
  return resource === undefined && scope === undefined ? undefined : { resource, scope };
}

function boundedStrings(values: unknown[], name: string): asserts values is string[] {
  if (values.length > MAX_LIST) throw new TypeError(`\`${name}\` takes at most ${MAX_LIST} values.`);
  for (const v of values) {
    if (typeof v !== 'string' || v === '' || v.length > 2048) throw new TypeError(`\`${name}\` values must be non-empty strings.`);
  }
}

/**
 * Tokens for the current request or session: reading them, refreshing them when due (one refresh per
 * session at a time), and the OP's token-related endpoints.
 *
 * @example
 * ```ts
 * const token = await this.tokens.getAccessToken(req);   // refreshed first when about to expire
 * ```
 */
/** OAuth errors (RFC 6749 §5.2) that blame this client's registration or credentials, never the user's grant. */
const CLIENT_FAULTS: ReadonlySet<string> = new Set(['invalid_client', 'unauthorized_client']);

@Injectable()
export class OidcTokenService {
  private readonly logger = new Logger('OidcTokens');
  private readonly clientTokens = new BoundedCache<string, OidcTokenSet>(CLIENT_TOKEN_CACHE_ENTRIES);
  private readonly clientFlights = new Map<string, Promise<OidcTokenSet>>();
  /** Single flight per session: concurrent requests of one session share one refresh (SE-12). */
  private readonly refreshing = new Map<string, Promise<LoadedSession>>();
  /** The last use of each session's refresh token under way here, so uses run one after another. */
  private readonly refreshTokenUses = new Map<string, Promise<void>>();

  constructor(
    @Inject(OIDC_OPTIONS) private readonly options: ResolvedOidcOptions,
    @Inject(OIDC_CLOCK) private readonly clock: OidcClock,
    private readonly discovery: OidcDiscoveryService,
    private readonly sessions: OidcSessionService,
    private readonly events: OidcEvents,
    private readonly idTokens: IdTokenVerifier,
    private readonly dpopKeys: DpopKeys,
    @Optional() private readonly telemetry?: OidcTelemetry,
  ) {}

  /** A grant at the token endpoint, in an `oidc.grant` span (API.md §7.6). */
  private grant<T>(grantType: string, work: () => Promise<T>): Promise<T> {
    return traced(this.telemetry, 'oidc.grant', { 'oidc.grant_type': grantType }, work);
  }

  /** RFC 9449 §5: the proof handle of a DPoP-bound session (the `dpop` option), for its token requests. */
  private async dpopOptions(config: client.Configuration, session: LoadedSession): Promise<client.DPoPOptions | undefined> {
    const sealed = session.payload.dpopKey;
    return sealed ? { DPoP: await this.dpopKeys.handleFor(config, session.key, sealed as SealedDpopKey) } : undefined;
  }

  /**
   * Calls an API with the request's access token (API.md §7.3): `Authorization: DPoP` and a fresh proof (`htm`, `htu`,
   * `ath`) when the session's tokens are DPoP-bound, else `Bearer`; the session's token refreshed first when due; one
   * retry when the API asks for a DPoP nonce (RFC 9449 §9). Resolves to the API's response, whatever its status.
   *
   * @see RFC 9449 §7 and §9, RFC 6750 §2.1
   * @example
   * ```ts
   * const res = await tokens.fetch(req, 'https://api.example.com/orders', { method: 'POST', body: JSON.stringify(order) });
   * ```
   */
  async fetch(req: PlatformRequest, input: string | URL, init: OidcFetchInit = {}): Promise<Response> {
    const accessToken = await this.getAccessToken(req);
    if (accessToken === undefined)
      throw new OidcError(
        'ERR_OIDC_UNAUTHENTICATED',
        'This request has no session or access token to call an API with: call fetch() on a route behind OidcGuard (or after OidcAuthenticator.authenticate()).',
      );
    const config = await this.discovery.getConfiguration();
    // A request authenticated with an access token has no session to take DPoP keys from.
    const authMethod = getOidcContext(req)?.user.authMethod;
    const session = authMethod === 'bearer' || authMethod === 'dpop' ? undefined : await this.sessions.get(req);
    const options = session ? await this.dpopOptions(config, session) : undefined;
    const url = input instanceof URL ? input : new URL(input);
    try {
      return await client.fetchProtectedResource(
        config,
        accessToken,
        url,
        (init.method ?? 'GET').toUpperCase(),
        init.body ?? null,
        new Headers(init.headers),
        options,
      );
    } catch (err) {
      throw this.opFailure(err, `the request to ${url.origin}`);
    }
  }

  private now(): number {
    return Math.floor(this.clock.now() / 1000);
  }

  /**
   * The access token of the request: its bearer token, or its session's (refreshed first when due).
   *
   * @see RFC 6749 §6 (refresh when due)
   */
  async getAccessToken(req: PlatformRequest, request?: AccessTokenRequest): Promise<string | undefined> {
    const target = checkAccessTokenRequest(request);
    const context = getOidcContext(req);
    if (target === undefined && context?.user.authMethod !== 'session' && context?.accessToken) return context.accessToken;
    const session = await this.sessions.get(req);
    if (!session) return undefined;
    if (target === undefined) return (await this.ensureFresh(session)).payload.accessToken;
    return this.resourceToken(session, target);
  }

  /**
   * API.md §7.2: the session's access token for (resource, scope), from its refresh token (RFC 8707 §2, RFC 6749
   * §6), kept sealed in the session until it is due. Serialized with the session's other refreshes — in this
   * process and, with a shared store's lock, across instances — since a refresh may rotate the refresh token.
   */
  private async resourceToken(loaded: LoadedSession, target: { resource?: string; scope?: string }): Promise<string> {
    const key = JSON.stringify([target.resource ?? '', target.scope ?? '']);
    const cached = loaded.payload.resourceTokens?.[key];
    if (cached && !this.tokenDue(cached.expiresAt, cached.issuedAt)) return cached.accessToken;
    const updated = await this.serialize(loaded, async () => {
      const session = await this.sessions.read(loaded.key);
      if (!session) throw new OidcError('ERR_OIDC_SESSION_ENDED', 'The session has ended.');
      const current = session.payload.resourceTokens?.[key];
      if (current && !this.tokenDue(current.expiresAt, current.issuedAt)) return session;
      return this.refreshForResource(session, key, target);
    });
    return updated.payload.resourceTokens![key]!.accessToken;
  }

  private async refreshForResource(
    session: LoadedSession,
    key: string,
    target: { resource?: string; scope?: string },
  ): Promise<LoadedSession> {
    const { refreshToken } = session.payload;
    if (!refreshToken) {
      throw new OidcError(
        'ERR_OIDC_GRANT_REFUSED',
        'The session has no refresh token, so it cannot get tokens for another API: ask for the offline_access scope (some OPs, such as oidc-provider, also need prompt=consent) or enable refresh tokens for this client at the OP.',
      );
    }
    const config = await this.discovery.getConfiguration();
    const params = new URLSearchParams();
    if (target.resource) params.set('resource', target.resource);
    if (target.scope) params.set('scope', target.scope);
    let tokens: Awaited<ReturnType<typeof client.refreshTokenGrant>>;
    try {
      const dpop = await this.dpopOptions(config, session);
      tokens = await this.grant('refresh_token', () => client.refreshTokenGrant(config, refreshToken, params, dpop));
    } catch (err) {
      const error = this.opFailure(err, 'the refresh token grant for another API');
      // RFC 6749 §5.2: only a dead grant ends the session; invalid_target / invalid_scope refuse this API alone.
      if (opRefusalOf(error)?.error === 'invalid_grant') {
        await this.sessions.destroy(session.key);
        this.emitFailure(session, error.code, true);
        throw new OidcError('ERR_OIDC_SESSION_ENDED', 'The session ended: the OpenID Provider refused its refresh token.', {
          cause: error,
        });
      }
      throw error;
    }
    const now = this.now();
    const entry: ResourceToken = {
      accessToken: tokens.access_token,
      tokenType: tokens.token_type,
      expiresAt: typeof tokens.expires_in === 'number' ? now + tokens.expires_in : undefined,
      issuedAt: now,
    };
    // Newest last; the oldest beyond the bound is dropped (a session does not grow without limit).
    const { [key]: _previous, ...others } = session.payload.resourceTokens ?? {};
    const kept = Object.entries(others).slice(-(MAX_RESOURCE_TOKENS - 1));
    const payload: SessionPayload = {
      ...session.payload,
      // RFC 6749 §6 / RFC 9700 §4.14.2: a rotated refresh token replaces the old one for every API.
      refreshToken: tokens.refresh_token ?? refreshToken,
      resourceTokens: { ...Object.fromEntries(kept), [key]: entry },
    };
    const updated = await this.sessions.update(session, payload);
    if (!updated) throw new OidcError('ERR_OIDC_SESSION_ENDED', 'The session ended while its tokens were being refreshed.');
    return updated;
  }

  /** A token is due `refresh.leeway` seconds (at most half its lifetime) before it expires. */
  private tokenDue(expiresAt: number | undefined, issuedAt: number): boolean {
    if (expiresAt === undefined) return false;
    const leeway = Math.min(this.options.refresh.leeway, Math.max(0, expiresAt - issuedAt) / 2);
    return expiresAt - leeway <= this.now();
  }

  /**
   * Runs `work` after every use of this session's refresh token already under way in this process, and under the
   * store's lock (other instances) when it has one: each use may rotate the refresh token (RFC 9700 §4.14.2).
   */
  private serialize(session: LoadedSession, work: () => Promise<LoadedSession>): Promise<LoadedSession> {
    const previous = this.refreshTokenUses.get(session.key) ?? Promise.resolve();
    const lock = this.sessions.lock;
    const run = () => (lock ? lock.run(`refresh:${session.key}`, work) : work());
    const next = previous.then(run, run);
    const tail = next.then(
      () => undefined,
      () => undefined,
    );
    this.refreshTokenUses.set(session.key, tail);
    void tail.then(() => {
      if (this.refreshTokenUses.get(session.key) === tail) this.refreshTokenUses.delete(session.key);
    });
    return next;
  }

  /**
   * Refreshes a session's tokens now, by `OidcUser.sessionId`.
   *
   * @see RFC 6749 §6, OIDC Core §12
   */
  async refresh(sessionId: string): Promise<void> {
    const session = await this.sessions.read(sessionId);
    if (!session) throw new OidcError('ERR_OIDC_SESSION_ENDED', 'No such session.');
    await this.singleFlight(session, true);
  }

  /**
   * The session with a usable access token: refreshed when it expires within `refresh.leeway` seconds
   * (never more than half its lifetime) and `refresh.auto` is on and there is a refresh token.
   *
   * @internal
   */
  async ensureFresh(session: LoadedSession): Promise<LoadedSession> {
    if (!this.options.refresh.auto || !this.isDue(session.payload)) return session;
    return this.singleFlight(session, false);
  }

  private isDue(payload: SessionPayload): boolean {
    return !!payload.refreshToken && this.tokenDue(payload.accessTokenExpiresAt, payload.accessTokenIssuedAt ?? payload.createdAt);
  }

  private singleFlight(session: LoadedSession, force: boolean): Promise<LoadedSession> {
    let flight = this.refreshing.get(session.key);
    if (!flight) {
      flight = this.refreshNow(session, force).finally(() => this.refreshing.delete(session.key));
      this.refreshing.set(session.key, flight);
    }
    return flight;
  }

  private refreshNow(loaded: LoadedSession, force: boolean): Promise<LoadedSession> {
    // With a shared store, the lock makes the other instances wait and then read the winner's result.
    return this.serialize(loaded, () => this.refreshLocked(loaded, force)).then(
      (session) => {
        this.telemetry?.count('oidc.refreshes', { outcome: 'success' });
        return session;
      },
      (err: unknown) => {
        this.telemetry?.count('oidc.refreshes', { outcome: 'failure', code: err instanceof OidcError ? err.code : 'error' });
        throw err;
      },
    );
  }

  private async refreshLocked(loaded: LoadedSession, force: boolean): Promise<LoadedSession> {
    // Re-read first: another request may have refreshed (and rotated the refresh token) since this one
    // loaded the session. Sending a rotated-out refresh token makes the OP revoke the grant (RFC 9700 §4.14.2).
    const session = await this.sessions.read(loaded.key);
    if (!session) throw new OidcError('ERR_OIDC_SESSION_ENDED', 'The session has ended.');
    if (!force && !this.isDue(session.payload)) return session;
    const { refreshToken } = session.payload;
    if (!refreshToken) return session;

    const config = await this.discovery.getConfiguration();
    let tokens: Awaited<ReturnType<typeof client.refreshTokenGrant>>;
    try {
      const dpop = await this.dpopOptions(config, session);
      tokens = await this.grant('refresh_token', () => client.refreshTokenGrant(config, refreshToken, undefined, dpop));
    } catch (err) {
      const error = this.opFailure(err, 'the refresh token grant');
      const refusal = opRefusalOf(error);
      // RFC 6749 §5.2: invalid_client / unauthorized_client are this app's configuration, not the user's grant.
      const clientFault = refusal !== undefined && CLIENT_FAULTS.has(refusal.error);
      if (
        clientFault ||
        error.code === 'ERR_OIDC_OP_UNAVAILABLE' ||
        error.code === 'ERR_OIDC_OP_TIMEOUT' ||
        error.code === 'ERR_OIDC_DISCOVERY_UNAVAILABLE' ||
        error.code === 'ERR_OIDC_KEYS_UNAVAILABLE'
      ) {
        // LF-27 (d): an unreachable OP (or one refusing this client) is not a logout; keep the session, let the client retry.
        this.emitFailure(session, 'ERR_OIDC_REFRESH_UNAVAILABLE', false);
        throw new OidcError('ERR_OIDC_REFRESH_UNAVAILABLE', 'The session could not be refreshed right now; try again shortly.', {
          cause: err,
        });
      }
      // LF-27 (c): invalid_grant and friends end the session, with no retry loop.
      await this.sessions.destroy(session.key);
      this.logger.warn(`Refresh refused for subject ${logText(session.data.sub)}; session ended.`);
      this.emitFailure(session, error.code, true);
      throw new OidcError('ERR_OIDC_SESSION_ENDED', 'The session ended: the OpenID Provider refused to refresh it.', { cause: error });
    }

    const now = this.now();
    let idTokenClaims = session.payload.idTokenClaims;
    if (tokens.id_token) {
      try {
        // OIDC Core §12.2 / §3.1.3.7: a refreshed ID token is validated like the first, signature included.
        await this.idTokens.verify(tokens.id_token);
        const fresh = toClaims(IdTokenClaims, tokens.claims(), 'The refreshed ID token');
        this.checkRefreshedIdToken(session.payload.idTokenClaims, fresh);
        idTokenClaims = { ...fresh };
      } catch (err) {
        // LF-26: tokens are not replaced, the new access token is never used, the session ends.
        await this.sessions.destroy(session.key);
        this.emitFailure(session, 'ERR_OIDC_INVALID_RESPONSE', true);
        throw new OidcError('ERR_OIDC_SESSION_ENDED', 'The session ended: the refreshed ID token did not match the original.', {
          cause: err,
        });
      }
    }
    const payload: SessionPayload = {
      ...session.payload,
      idTokenClaims,
      idToken: tokens.id_token ?? session.payload.idToken,
      accessToken: tokens.access_token,
      tokenType: tokens.token_type,
      // RFC 6749 §6: without a new refresh token the old one stays valid; a rotated one replaces it.
      refreshToken: tokens.refresh_token ?? refreshToken,
      accessTokenExpiresAt: typeof tokens.expires_in === 'number' ? now + tokens.expires_in : undefined,
      accessTokenIssuedAt: now,
      scope: tokens.scope ?? session.payload.scope,
    };
    const updated = await this.sessions.update(session, payload);
    if (!updated) {
      // Ended while the grant was in flight (a back-channel or local logout): the new tokens are not
      // stored, and the session stays ended — never resurrected by the refresh (Back-Channel Logout §2.7).
      this.emitFailure(session, 'ERR_OIDC_SESSION_ENDED', true);
      throw new OidcError('ERR_OIDC_SESSION_ENDED', 'The session ended while its tokens were being refreshed.');
    }
    this.events.emit({ type: 'refresh', iss: session.data.iss, sub: session.data.sub, sessionId: session.key });
    return updated;
  }

  private emitFailure(session: LoadedSession, code: string, sessionEnded: boolean): void {
    this.events.emit({ type: 'refresh-failed', iss: session.data.iss, sub: session.data.sub, sessionId: session.key, code, sessionEnded });
  }

  /**
   * An access token for the app itself (client credentials grant, RFC 6749 §4.4), cached per
   * (scope, resource) until shortly before it expires; concurrent callers share one request.
   *
   * @see RFC 6749 §4.4, RFC 8707 (resource)
   * @example
   * ```ts
   * const { accessToken } = await tokens.clientCredentials({ scope: 'reports:read', resource: 'https://api.example.com' });
   * ```
   */
  async clientCredentials(params: { scope?: string; resource?: string | string[] } = {}): Promise<OidcTokenSet> {
    const resources = params.resource === undefined ? [] : Array.isArray(params.resource) ? params.resource : [params.resource];
    boundedStrings(resources, 'resource');
    if (params.scope !== undefined && typeof params.scope !== 'string')
      throw new TypeError('clientCredentials(): `scope` must be a string.');
    const key = JSON.stringify([params.scope ?? '', [...resources].sort()]);
    const cached = this.clientTokens.get(key);
    if (cached && (cached.expiresAt === undefined || cached.expiresAt - CLIENT_TOKEN_MARGIN > this.now())) return cached;
    let flight = this.clientFlights.get(key);
    if (!flight) {
      flight = this.requestClientCredentials(params.scope, resources).finally(() => this.clientFlights.delete(key));
      this.clientFlights.set(key, flight);
    }
    const tokens = await flight;
    this.clientTokens.set(key, tokens);
    return tokens;
  }

  private async requestClientCredentials(scope: string | undefined, resources: string[]): Promise<OidcTokenSet> {
    const config = await this.discovery.getConfiguration();
    const body = new URLSearchParams();
    if (scope) body.set('scope', scope);
    for (const r of resources) body.append('resource', r);
    try {
      return this.toTokenSet(await this.grant('client_credentials', () => client.clientCredentialsGrant(config, body)));
    } catch (err) {
      throw this.opFailure(err, 'the client credentials grant');
    }
  }

  /**
   * OAuth 2.0 Token Exchange (RFC 8693 §2.1). `extra` adds parameters but can never override one the
   * method sets or that carries credentials (checked case-insensitively); arrays are bounded.
   *
   * @see RFC 8693 (token exchange)
   * @example
   * ```ts
   * const downstream = await tokens.exchange({
   *   subjectToken: incoming, subjectTokenType: 'urn:ietf:params:oauth:token-type:access_token',
   *   audience: 'https://orders.internal',
   * });
   * ```
   */
  async exchange(params: TokenExchangeParams): Promise<OidcTokenSet> {
    if (typeof params?.subjectToken !== 'string' || params.subjectToken === '') {
      throw new TypeError('exchange(): `subjectToken` must be a non-empty string.');
    }
    if (typeof params.subjectTokenType !== 'string' || params.subjectTokenType === '') {
      throw new TypeError('exchange(): `subjectTokenType` must be a token type URI (RFC 8693 §3).');
    }
    const body = new URLSearchParams({ subject_token: params.subjectToken, subject_token_type: params.subjectTokenType });
    const lists: Array<[string, string | string[] | undefined]> = [
      ['audience', params.audience],
      ['resource', params.resource],
    ];
    for (const [name, value] of lists) {
      if (value === undefined) continue;
      const values = Array.isArray(value) ? value : [value];
      boundedStrings(values, name);
      for (const v of values) body.append(name, v);
    }
    if (params.scope !== undefined) body.set('scope', String(params.scope));
    if (params.requestedTokenType !== undefined) body.set('requested_token_type', String(params.requestedTokenType));
    if (params.actorToken !== undefined) {
      body.set('actor_token', String(params.actorToken));
      body.set('actor_token_type', String(params.actorTokenType ?? 'urn:ietf:params:oauth:token-type:access_token'));
    }
    const extra = Object.entries(params.extra ?? {});
    if (extra.length > MAX_EXTRA_PARAMS) throw new TypeError(`exchange(): at most ${MAX_EXTRA_PARAMS} \`extra\` parameters.`);
    for (const [name, value] of extra) {
      if (RESERVED_EXCHANGE_PARAMS.has(name.toLowerCase())) {
        throw new TypeError(`exchange(): \`extra.${name}\` is reserved and cannot be set through \`extra\`.`);
      }
      const values = Array.isArray(value) ? value : [value];
      boundedStrings(values, `extra.${name}`);
      for (const v of values) body.append(name, v);
    }
    const config = await this.discovery.getConfiguration();
    try {
      const exchange = 'urn:ietf:params:oauth:grant-type:token-exchange';
      return this.toTokenSet(await this.grant(exchange, () => client.genericGrantRequest(config, exchange, body)));
    } catch (err) {
      throw this.opFailure(err, 'the token exchange');
    }
  }

  /**
   * Userinfo (OIDC Core §5.3) for an access token, checked with class-validator.
   *
   * @see OIDC Core §5.3
   */
  async userinfo(accessToken: string): Promise<UserInfoClaims> {
    const config = await this.discovery.getConfiguration();
    let body: unknown;
    try {
      body = await client.fetchUserInfo(config, accessToken, client.skipSubjectCheck);
    } catch (err) {
      throw this.opFailure(err, 'the userinfo request');
    }
    return toClaims(UserInfoClaims, body, 'The userinfo response');
  }

  /**
   * Token introspection (RFC 7662) with the client's credentials.
   *
   * @see RFC 7662
   */
  async introspect(token: string, tokenTypeHint?: string): Promise<Record<string, unknown> & { active: boolean }> {
    const config = await this.discovery.getConfiguration();
    try {
      const result = await client.tokenIntrospection(config, token, tokenTypeHint ? { token_type_hint: tokenTypeHint } : undefined);
      return result as Record<string, unknown> & { active: boolean };
    } catch (err) {
      throw this.opFailure(err, 'the introspection request');
    }
  }

  /**
   * Token revocation (RFC 7009).
   *
   * @see RFC 7009
   */
  async revoke(token: string, tokenTypeHint?: 'access_token' | 'refresh_token'): Promise<void> {
    const config = await this.discovery.getConfiguration();
    try {
      await client.tokenRevocation(config, token, tokenTypeHint ? { token_type_hint: tokenTypeHint } : undefined);
    } catch (err) {
      throw this.opFailure(err, 'the revocation request');
    }
  }

  /** Classifies a failed call to the OP and logs it at warn: which call, the HTTP status, the OP's `error` code. */
  private opFailure(err: unknown, what: string): OidcError {
    const error = classifyOpError(err, what);
    this.logger.warn(`${what[0]!.toUpperCase()}${what.slice(1)} failed: ${error.code}: ${error.message}`);
    return error;
  }

  private toTokenSet(tokens: client.TokenEndpointResponse): OidcTokenSet {
    const now = this.now();
    return Object.freeze({
      accessToken: tokens.access_token,
      tokenType: tokens.token_type,
      expiresAt: typeof tokens.expires_in === 'number' ? now + tokens.expires_in : undefined,
      scope: tokens.scope,
      issuedTokenType: typeof tokens.issued_token_type === 'string' ? tokens.issued_token_type : undefined,
      refreshToken: tokens.refresh_token,
    });
  }

  /** OIDC Core §12.2: a refreshed ID token keeps iss, sub, aud, azp and auth_time of the original. */
  private checkRefreshedIdToken(original: Record<string, unknown>, fresh: IdTokenClaims): void {
    const normalize = (v: unknown) => (Array.isArray(v) ? [...v].sort() : v === undefined ? undefined : [v]);
    const same = (a: unknown, b: unknown) => JSON.stringify(normalize(a)) === JSON.stringify(normalize(b));
    for (const claim of ['iss', 'sub', 'aud', 'azp'] as const) {
      if (!same(original[claim], fresh[claim])) {
        throw new OidcError('ERR_OIDC_INVALID_RESPONSE', `The refreshed ID token changed "${claim}".`);
      }
    }
    if (original.auth_time !== undefined && fresh.auth_time !== undefined && original.auth_time !== fresh.auth_time) {
      throw new OidcError('ERR_OIDC_INVALID_RESPONSE', 'The refreshed ID token changed "auth_time".');
    }
  }
}
