import { HttpException, Inject, Injectable, Logger, Optional } from '@nestjs/common';
import { createHash } from 'node:crypto';
import * as client from 'openid-client';
import { toClaims } from '../claims/claims.validation.js';
import { IdTokenClaims } from '../claims/id-token-claims.js';
import { UserInfoClaims } from '../claims/userinfo-claims.js';
import type { ResolvedOidcOptions } from '../config/resolve-oidc-options.js';
import { OidcDiscoveryService } from '../discovery/oidc-discovery.service.js';
import { classifyOpError } from '../errors/classify-op-error.js';
import { logText } from '../errors/log-text.js';
import { OidcError } from '../errors/oidc.error.js';
import { requestForm, requestHeader, requestMethod, requestQuery, type PlatformRequest, type PlatformResponse } from '../http/platform.js';
import { OIDC_CLOCK, OIDC_OPTIONS, OIDC_REPLAY_CACHE, type OidcClock } from '../oidc.constants.js';
import type { ReplayCache } from '../cache/replay-cache.js';
import { OidcEvents } from '../events/oidc-events.service.js';
import { OidcSessionService, type LoadedSession } from '../session/oidc-session.service.js';
import { readScopes } from '../user/oidc-user.js';
import { OidcTelemetry, traced } from '../telemetry/oidc-telemetry.js';
import { DpopKeys } from '../tokens/dpop-keys.js';
import { IdTokenVerifier } from '../tokens/id-token.verifier.js';
import { LoginTransactions, type LoginTransaction } from './login-transaction.js';
import { sanitizeReturnTo } from '../http/return-to.js';
import { ACR_VALUE, MAX_ACR_VALUES } from '../decorators/step-up.decorator.js';

/** Authorization response parameters that must appear at most once (LF-03c). */
const SINGLE_VALUED = ['state', 'code', 'iss', 'error', 'error_description', 'error_uri', 'session_state'];
/** RS-06: authorization response values larger than this are not from a real OP. */
const MAX_PARAM_LENGTH = 4096;
/** OIDC Core §3.1.2.6: what an OP answers `prompt=none` with when it cannot log the user in silently. */
const SILENT_LOGIN_REFUSALS: ReadonlySet<string> = new Set([
  'login_required',
  'interaction_required',
  'consent_required',
  'account_selection_required',
]);

/** What `GET /auth/login` may ask for, from its query string. */
export interface LoginRequest {
  returnTo?: unknown;
  /** RFC 9470 §4 step-up: `acr_values` to ask the OP for (space-separated). */
  acrValues?: string | null;
  /** OIDC Core §3.1.2.1 `max_age`, seconds. */
  maxAge?: string | null;
  /** Only `none` (a silent login) is taken from the query; any other value is ignored. */
  prompt?: string | null;
}

/**
 * The browser login: authorization code flow with PKCE S256, `state` and `nonce` (OIDC Core §3.1,
 * RFC 9700 §2.1.1), and the callback that validates the response and starts a session.
 */
@Injectable()
export class OidcLoginService {
  private readonly logger = new Logger('OidcLogin');
  private readonly transactions: LoginTransactions;

  constructor(
    @Inject(OIDC_OPTIONS) private readonly options: ResolvedOidcOptions,
    @Inject(OIDC_CLOCK) private readonly clock: OidcClock,
    private readonly discovery: OidcDiscoveryService,
    private readonly sessions: OidcSessionService,
    private readonly events: OidcEvents,
    private readonly idTokens: IdTokenVerifier,
    @Inject(OIDC_REPLAY_CACHE) private readonly replays: ReplayCache,
    private readonly dpopKeys: DpopKeys,
    @Optional() private readonly telemetry?: OidcTelemetry,
  ) {
    this.transactions = new LoginTransactions(options, sessions.crypto);
  }

  private now(): number {
    return Math.floor(this.clock.now() / 1000);
  }

  /**
   * Starts a login: stores a fresh transaction in the browser and returns the OP's authorization URL.
   * `returnTo` is kept only when it is a same-origin relative path.
   */
  async buildAuthorizationUrl(req: PlatformRequest, res: PlatformResponse, request: LoginRequest = {}): Promise<URL> {
    const { acrValues, maxAge, silent } = this.checkLoginRequest(request);
    const config = await this.discovery.getConfiguration();
    // A login that could not be saved at the end must not start: fail now (503) while the store is down.
    await this.sessions.assertStoreAvailable();
    // RFC 9700 §2.1.1 and §4.8: PKCE S256 always, even when the OP's metadata does not list it.
    const codeVerifier = client.randomPKCECodeVerifier();
    const tx: LoginTransaction = {
      state: client.randomState(),
      nonce: client.randomNonce(),
      codeVerifier,
      returnTo: sanitizeReturnTo(request.returnTo),
      createdAt: this.now(),
    };
    const configured = this.options.authorizationParams;
    const params: Record<string, string> = {
      ...this.stepUpParams(config, acrValues, maxAge),
      ...(silent ? { prompt: 'none' } : {}),
      redirect_uri: this.options.redirectUri,
      response_type: 'code',
      scope: this.options.scope,
      state: tx.state,
      nonce: tx.nonce,
      code_challenge: await client.calculatePKCECodeChallenge(codeVerifier),
      code_challenge_method: 'S256',
    };
    // The configured parameters first; the module's own (and a step-up's) win on a clash.
    const query = new URLSearchParams();
    for (const [name, value] of Object.entries(configured)) {
      if (name in params) continue;
      for (const item of typeof value === 'string' ? [value] : value) query.append(name, item);
    }
    for (const [name, value] of Object.entries(params)) query.set(name, value);
    const askedMaxAge = query.get('max_age');
    if (askedMaxAge !== null) {
      const seconds = Number(askedMaxAge);
      if (Number.isInteger(seconds) && seconds >= 0) tx.maxAge = seconds;
    }
    if (acrValues) tx.acrValues = acrValues;
    if (silent) tx.silent = true;
    // FAPI 2.0 Security Profile §5.3.3.4: PAR always; an OP without it cannot serve this profile.
    if (this.options.profile === 'fapi2' && !config.serverMetadata().pushed_authorization_request_endpoint) {
      throw new OidcError(
        'ERR_OIDC_OP_UNAVAILABLE',
        'profile "fapi2" needs PAR, but the OP publishes no pushed_authorization_request_endpoint.',
      );
    }
    let url: URL;
    try {
      url =
        this.options.pushedAuthorizationRequests && config.serverMetadata().pushed_authorization_request_endpoint
          ? await client.buildAuthorizationUrlWithPAR(config, query)
          : client.buildAuthorizationUrl(config, query);
    } catch (err) {
      throw classifyOpError(err, 'the pushed authorization request');
    }
    await this.transactions.save(req, res, tx);
    return url;
  }

  /** The step-up and silent-login parts of a login request, checked (400 for a malformed one). */
  private checkLoginRequest(request: LoginRequest): { acrValues?: string[]; maxAge?: number; silent: boolean } {
    let acrValues: string[] | undefined;
    if (request.acrValues !== undefined && request.acrValues !== null) {
      acrValues = request.acrValues.split(' ').filter(Boolean);
      if (acrValues.length === 0 || acrValues.length > MAX_ACR_VALUES || !acrValues.every((v) => ACR_VALUE.test(v))) {
        throw new OidcError('ERR_OIDC_INVALID_REQUEST', `acr_values must be up to ${MAX_ACR_VALUES} space-separated acr values.`);
      }
    }
    let maxAge: number | undefined;
    if (request.maxAge !== undefined && request.maxAge !== null) {
      // Nine digits at most: MAX_MAX_AGE, what @StepUp() allows.
      if (!/^\d{1,9}$/.test(request.maxAge)) throw new OidcError('ERR_OIDC_INVALID_REQUEST', 'max_age must be a whole number of seconds.');
      maxAge = Number(request.maxAge);
    }
    // API.md §7.2: `prompt=none` only; `login`, `consent`, `select_account` are the app's to choose, not a link's.
    return { acrValues, maxAge, silent: request.prompt === 'none' };
  }

  /**
   * RFC 9470 §4 / OIDC Core §3.1.2.1: a step-up login asks for the `acr` and `max_age`. Where the OP takes the
   * `claims` parameter, `acr` is asked as an essential claim (§5.5.1.1), so an OP whose session already meets it
   * need not ask the user again; elsewhere `acr_values` is only voluntary, and `prompt=login` makes the OP
   * authenticate the user anew — as it does with `max_age`, since the current authentication is known to be too old.
   */
  private stepUpParams(config: client.Configuration, acrValues: string[] | undefined, maxAge: number | undefined): Record<string, string> {
    const params: Record<string, string> = {};
    if (acrValues) {
      if (config.serverMetadata().claims_parameter_supported === true) {
        // Alone: next to `acr_values`, an OP may take the voluntary request over the essential one (oidc-provider does).
        params.claims = JSON.stringify({ id_token: { acr: { essential: true, values: acrValues } } });
      } else {
        params.acr_values = acrValues.join(' ');
        params.prompt = 'login';
      }
    }
    if (maxAge !== undefined) {
      params.max_age = String(maxAge);
      params.prompt = 'login';
    }
    return params;
  }

  /**
   * Finishes a login: validates the authorization response against this browser's transaction, redeems
   * the code, validates the ID token (and userinfo), runs `afterCallback`, and starts a new session.
   * Resolves to the same-origin URL to send the browser to.
   */
  async handleCallback(req: PlatformRequest, res: PlatformResponse): Promise<{ returnTo: string; session?: LoadedSession }> {
    try {
      const result = await this.finishLogin(req, res);
      this.telemetry?.count('oidc.logins', { outcome: result.session ? 'success' : 'anonymous' });
      return result;
    } catch (err) {
      this.telemetry?.count('oidc.logins', { outcome: 'failure', code: err instanceof OidcError ? err.code : 'error' });
      throw err;
    }
  }

  private async finishLogin(req: PlatformRequest, res: PlatformResponse): Promise<{ returnTo: string; session?: LoadedSession }> {
    const params = await this.callbackParameters(req);
    const state = params.get('state');
    if (!state) {
      throw new OidcError('ERR_OIDC_INVALID_REQUEST', 'The callback carries no `state`; start the login again.');
    }
    // LF-02, LF-03, LF-08: the transaction must be this browser's, unaltered and fresh — before any call to the OP.
    const tx = await this.transactions.take(req, res, state);
    if (!tx) {
      throw new OidcError(
        'ERR_OIDC_TRANSACTION_NOT_FOUND',
        `No login in progress matches this callback (unknown, already used or from another browser)${this.hostHint(req)}; start the login again.`,
      );
    }
    if (this.now() - tx.createdAt > this.options.transactionTtl) {
      throw new OidcError('ERR_OIDC_TRANSACTION_NOT_FOUND', 'The login took too long and has expired; start the login again.');
    }
    await this.useStateOnce(tx);
    // FAPI 2.0 Security Profile §5.3.2.2 / RFC 9207 §2.4: the response must name its issuer (openid-client checks
    // the value); without it a mix-up cannot be ruled out.
    if (this.options.profile === 'fapi2' && !params.has('iss')) {
      throw new OidcError(
        'ERR_OIDC_INVALID_RESPONSE',
        'The authorization response carries no `iss` (RFC 9207), which the FAPI 2.0 profile requires.',
      );
    }

    const config = await this.discovery.getConfiguration();
    const currentUrl = new URL(this.options.redirectUri);
    currentUrl.search = params.toString();

    // RFC 9449 §5: with the `dpop` option, the session's tokens are bound to a key made for it now.
    const dpop = this.dpopKeys.enabled ? await this.dpopKeys.newKey(config) : undefined;
    const dpopOptions = dpop ? { DPoP: dpop.handle } : undefined;
    let tokens: Awaited<ReturnType<typeof client.authorizationCodeGrant>>;
    try {
      // RFC 9207 (iss), state, PKCE, then OIDC Core §3.1.3.7: signature (pinned alg), iss, aud, azp, exp, iat, nonce, auth_time.
      tokens = await traced(this.telemetry, 'oidc.grant', { 'oidc.grant_type': 'authorization_code' }, () =>
        client.authorizationCodeGrant(
          config,
          currentUrl,
          {
            pkceCodeVerifier: tx.codeVerifier,
            expectedState: tx.state,
            expectedNonce: tx.nonce,
            idTokenExpected: true,
            maxAge: tx.maxAge,
          },
          undefined,
          dpopOptions,
        ),
      );
    } catch (err) {
      // OIDC Core §3.1.2.6: a silent login the OP cannot complete without the user ends anonymously where it was
      // going (API.md §7.2) — after state and iss were checked (openid-client does both before reading `error`).
      if (tx.silent && err instanceof client.AuthorizationResponseError && SILENT_LOGIN_REFUSALS.has(err.error)) {
        this.logger.debug(`Silent login ended without a session: the OP answered "${err.error}".`);
        return { returnTo: new URL(tx.returnTo, this.options.baseUrl.origin).href };
      }
      throw classifyOpError(err, 'the authorization code grant');
    }
    // OIDC Core §3.1.3.7 steps 6–7: the signature, with the pinned algorithm and the shared key cache.
    await this.idTokens.verify(tokens.id_token!);

    const idTokenClaims = toClaims(IdTokenClaims, tokens.claims(), 'The ID token');
    this.checkIssuedAt(idTokenClaims, tx);
    // RFC 9470 §4 / OIDC Core §2: a step-up login must come back with one of the `acr` values it asked for.
    if (tx.acrValues && (typeof idTokenClaims.acr !== 'string' || !tx.acrValues.includes(idTokenClaims.acr))) {
      // The values are the request's and the OP's: logged (bounded, control characters stripped), never shown.
      const got = typeof idTokenClaims.acr === 'string' ? `acr "${logText(idTokenClaims.acr, 100)}"` : 'no acr';
      this.logger.warn(
        `Step-up login refused: the ID token carries ${got}; acr_values asked were "${logText(tx.acrValues.join(' '), 300)}".`,
      );
      throw new OidcError(
        'ERR_OIDC_INSUFFICIENT_USER_AUTHENTICATION',
        'The sign-in did not reach the authentication level this page needs; sign in again with the stronger method.',
      );
    }

    let userinfo: UserInfoClaims | undefined;
    if (this.options.fetchUserinfo && config.serverMetadata().userinfo_endpoint) {
      try {
        // OIDC Core §5.3.4: the userinfo `sub` must equal the ID token's, or the response is discarded.
        const body = await client.fetchUserInfo(config, tokens.access_token, idTokenClaims.sub, dpopOptions);
        userinfo = toClaims(UserInfoClaims, body, 'The userinfo response');
      } catch (err) {
        throw classifyOpError(err, 'the userinfo request');
      }
    }

    const scopes = readScopes(tokens.scope ?? this.options.scope);
    let extraClaims: Record<string, unknown> | undefined;
    if (this.options.afterCallback) {
      try {
        const result = await this.options.afterCallback({ idToken: idTokenClaims, userinfo, scopes, req });
        if (result && typeof result === 'object') extraClaims = result;
      } catch (err) {
        if (err instanceof HttpException) throw err;
        throw new OidcError('ERR_OIDC_LOGIN_REFUSED', 'The application refused this login.', { cause: err });
      }
    }

    const now = this.now();
    const session = await this.sessions.create(req, res, {
      iss: idTokenClaims.iss,
      sub: idTokenClaims.sub,
      sid: idTokenClaims.sid,
      idToken: tokens.id_token,
      accessToken: tokens.access_token,
      refreshToken: tokens.refresh_token,
      tokenType: tokens.token_type,
      accessTokenExpiresAt: typeof tokens.expires_in === 'number' ? now + tokens.expires_in : undefined,
      accessTokenIssuedAt: now,
      scope: tokens.scope ?? this.options.scope,
      idTokenClaims: { ...idTokenClaims },
      userinfo: userinfo && { ...userinfo },
      extraClaims,
      ...(dpop ? { dpopKey: dpop.sealed } : {}),
    });
    if (dpop) this.dpopKeys.remember(session.key, dpop.handle);
    this.logger.log(`Login of subject ${idTokenClaims.sub} completed.`);
    this.events.emit({ type: 'login', iss: idTokenClaims.iss, sub: idTokenClaims.sub, sessionId: session.key });
    return { returnTo: new URL(tx.returnTo, this.options.baseUrl.origin).href, session };
  }

  /**
   * OIDC Core §3.1.3.7 step 10 leaves `iat` checks to the RP: an ID token issued in the future, or before
   * this login started, is a replay or a broken clock (LF-14 e, f).
   */
  private checkIssuedAt(claims: IdTokenClaims, tx: LoginTransaction): void {
    const tolerance = this.options.clockTolerance;
    const now = this.now();
    if (claims.iat > now + tolerance) {
      throw new OidcError(
        'ERR_OIDC_INVALID_RESPONSE',
        `The ID token's "iat" is ${claims.iat - now} s in the future; clockTolerance is ${tolerance} s — are the clocks of this server and the OP in sync?`,
      );
    }
    if (claims.iat < tx.createdAt - tolerance) {
      throw new OidcError(
        'ERR_OIDC_INVALID_RESPONSE',
        `The ID token was not issued during this login: its "iat" is ${tx.createdAt - claims.iat} s before the login started (clockTolerance ${tolerance} s) — a replayed ID token, or clocks out of sync.`,
      );
    }
  }

  /**
   * RFC 9700 §4.5.3.1 / §2.1.1: a login transaction is good for one callback. Its cookie is cleared at the first,
   * but a replay with the cookies from before it would redeem the code a second time — and the OP then revokes
   * the whole grant, killing the first session's tokens. The used `state` (hashed) is recorded in the replay
   * cache (shared through Redis) until the transaction would have expired; a replay is 400 and never reaches
   * the OP.
   */
  private async useStateOnce(tx: LoginTransaction): Promise<void> {
    const remaining = this.options.transactionTtl - (this.now() - tx.createdAt) + this.options.clockTolerance;
    const key = `state:${createHash('sha256').update(tx.state).digest('base64url')}`;
    if (!(await this.replays.recordOnce(key, Math.max(1, remaining)))) {
      throw new OidcError(
        'ERR_OIDC_TRANSACTION_NOT_FOUND',
        'This login was already completed (a replayed callback); start the login again.',
      );
    }
  }

  /**
   * The commonest cause of a lost login transaction in development: the browser started the login on another
   * host than `baseUrl`'s (127.0.0.1 vs localhost), and cookies are per host. Says so, naming both.
   */
  private hostHint(req: PlatformRequest): string {
    const host = requestHeader(req, 'host');
    // Only a plausible host[:port] is repeated (it comes from the request).
    if (!host || !/^[A-Za-z0-9.-]{1,100}(:\d{1,5})?$|^\[[0-9a-fA-F:]{2,45}\](:\d{1,5})?$/.test(host) || host === this.options.baseUrl.host)
      return '';
    return ` — you opened ${this.options.baseUrl.protocol}//${host} but baseUrl is ${this.options.baseUrl.origin}: cookies are per host, so open the app at its baseUrl`;
  }

  /** Query (GET) or form (POST, response_mode=form_post) parameters, each at most once and bounded. */
  private async callbackParameters(req: PlatformRequest): Promise<URLSearchParams> {
    const params = requestMethod(req) === 'POST' ? await requestForm(req) : requestQuery(req);
    if (!params) {
      throw new OidcError('ERR_OIDC_INVALID_REQUEST', 'The callback POST must be application/x-www-form-urlencoded.');
    }
    for (const name of SINGLE_VALUED) {
      if (params.getAll(name).length > 1) {
        throw new OidcError('ERR_OIDC_INVALID_REQUEST', `The callback parameter "${name}" appears more than once.`);
      }
    }
    for (const [, value] of params) {
      if (value.length > MAX_PARAM_LENGTH) {
        throw new OidcError('ERR_OIDC_INVALID_REQUEST', 'A callback parameter is too long.');
      }
    }
    return params;
  }
}
