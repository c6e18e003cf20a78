import { Controller, Delete, Get, HttpException, Logger, Patch, Post, Put, Req, Res, SetMetadata, UseGuards, type Type } from '@nestjs/common';
import { Inject } from '@nestjs/common';
import type { ResolvedOidcOptions } from '../config/resolve-oidc-options.js';
import { Public } from '../decorators/public.decorator.js';
import { AUTHORIZATION_ERROR_CODES } from '../errors/classify-op-error.js';
import { OIDC_ERROR_STATUS, OidcError } from '../errors/oidc.error.js';
import { requestHeader, requestQuery, sendRedirect, sendResponse, type PlatformRequest, type PlatformResponse } from '../http/platform.js';
import { getOidcContext } from '../http/request-context.js';
import { OidcGuard } from '../guards/oidc.guard.js';
import { OidcLoginService } from '../login/oidc-login.service.js';
import { OidcChannelLogoutService } from '../logout/oidc-channel-logout.service.js';
import { OidcLogoutService } from '../logout/oidc-logout.service.js';
import { NO_LOGIN_REDIRECT_KEY, OIDC_OPTIONS } from '../oidc.constants.js';
import { NO_STORE_HEADERS, sendErrorPage } from './error-page.js';

/**
 * The built-in routes (`/auth/*` by default): login, callback, logout and me. Mounted under the
 * `routes.prefix` extra; `routes: false` mounts none.
 */
export class OidcAuthController {
  private readonly logger = new Logger('OidcRoutes');

  constructor(
    @Inject(OIDC_OPTIONS) private readonly options: ResolvedOidcOptions,
    private readonly login: OidcLoginService,
    private readonly logoutService: OidcLogoutService,
    private readonly backchannel: OidcChannelLogoutService,
  ) {}

  /** `GET /auth/login?returnTo=/path` → 302 to the OP's authorization endpoint. */
  @Public()
  @Get('login')
  async startLogin(@Req() req: PlatformRequest, @Res() res: PlatformResponse): Promise<void> {
    try {
      const query = requestQuery(req);
      const url = await this.login.buildAuthorizationUrl(req, res, query.get('returnTo') ?? undefined);
      sendRedirect(res, url.href, 302, NO_STORE_HEADERS);
    } catch (err) {
      this.fail(res, err, 'login');
    }
  }

  /** `GET|POST /auth/callback`: validates the authorization response, starts a session, 302 to returnTo. */
  @Public()
  @Get('callback')
  async callbackGet(@Req() req: PlatformRequest, @Res() res: PlatformResponse): Promise<void> {
    await this.callback(req, res);
  }

  @Public()
  @Post('callback')
  async callbackPost(@Req() req: PlatformRequest, @Res() res: PlatformResponse): Promise<void> {
    await this.callback(req, res);
  }

  private async callback(req: PlatformRequest, res: PlatformResponse): Promise<void> {
    try {
      const { returnTo } = await this.login.handleCallback(req, res);
      sendRedirect(res, returnTo, 302, NO_STORE_HEADERS);
    } catch (err) {
      this.fail(res, err, 'callback', this.loginPath());
    }
  }

  /** `POST /auth/logout` (recommended) and `GET /auth/logout`: ends the session, then the OP's logout. */
  @Public()
  @Post('logout')
  async logoutPost(@Req() req: PlatformRequest, @Res() res: PlatformResponse): Promise<void> {
    await this.logout(req, res);
  }

  @Public()
  @Get('logout')
  async logoutGet(@Req() req: PlatformRequest, @Res() res: PlatformResponse): Promise<void> {
    // LO-16: a cross-site GET (a link or image on another site) must not log the user out.
    if (requestHeader(req, 'sec-fetch-site') === 'cross-site') {
      sendErrorPage(res, new OidcError('ERR_OIDC_INVALID_REQUEST', 'Logout must be started from this site (use POST).'));
      return;
    }
    await this.logout(req, res);
  }

  private async logout(req: PlatformRequest, res: PlatformResponse): Promise<void> {
    try {
      const location = await this.logoutService.logout(req, res, requestQuery(req).get('returnTo') ?? undefined);
      sendRedirect(res, location, 302, NO_STORE_HEADERS);
    } catch (err) {
      this.fail(res, err, 'logout');
    }
  }

  /**
   * `GET /auth/logout/callback`: where the OP returns after logout when `logout.postLogoutRedirectUri`
   * points here. The right `state` → 302 to the returnTo given at logout; otherwise a neutral page (LO-18).
   */
  @Public()
  @Get('logout/callback')
  async logoutCallback(@Req() req: PlatformRequest, @Res() res: PlatformResponse): Promise<void> {
    // OIDC RP-Initiated Logout §3 / RFC 6749 §4.1.2.1: an OP that refuses the logout request (an unregistered
    // post_logout_redirect_uri, say) and still comes back says why in `error`: log it (registered codes only).
    const opError = requestQuery(req).get('error');
    if (opError !== null) {
      const code = AUTHORIZATION_ERROR_CODES.has(opError) ? `"${opError}"` : 'an unregistered error code';
      this.logger.warn(`The OP answered the logout with ${code}; check that post_logout_redirect_uri "${this.options.logout.postLogoutRedirectUri}" is registered at the OP exactly (trailing slash included).`);
    }
    const location = await this.logoutService.landing(req, res);
    // Clear-Site-Data (W3C): Chromium keeps even `no-store` pages in its back/forward cache; flushing the cache
    // on the page the browser lands on after logout keeps Back from showing the previous user's private page.
    // (On the /auth/logout redirect itself it would come too early: the OP's pages are visited after it.)
    const landed = { ...NO_STORE_HEADERS, 'clear-site-data': '"cache"' };
    if (location) {
      sendRedirect(res, location, 302, landed);
      return;
    }
    sendResponse(res, 200, '<!doctype html><html><head><meta charset="utf-8"><title>Signed out</title></head><body><h1>Signed out</h1><p>You are signed out.</p></body></html>', {
      ...landed,
      'content-type': 'text/html; charset=utf-8',
      'content-security-policy': "default-src 'none'",
    });
  }

  /**
   * `POST /auth/backchannel-logout` (Back-Channel Logout 1.0): 200 when the logout token is valid (even
   * if no session matched), 400 `{ error: 'invalid_request' }` otherwise; always `Cache-Control: no-store`.
   */
  @Public()
  @Post('backchannel-logout')
  async backchannelLogout(@Req() req: PlatformRequest, @Res() res: PlatformResponse): Promise<void> {
    const json = { ...NO_STORE_HEADERS, 'content-type': 'application/json; charset=utf-8' };
    if (!this.options.logout.backchannel) {
      sendResponse(res, 404, JSON.stringify({ error: 'not_found' }), json);
      return;
    }
    try {
      await this.backchannel.handle(req);
      sendResponse(res, 200, '', NO_STORE_HEADERS);
    } catch (err) {
      const error = err instanceof OidcError ? err : new OidcError('ERR_OIDC_INVALID_REQUEST', 'The logout request failed.', { cause: err });
      this.logger.warn(`backchannel-logout refused: ${error.code}: ${error.message}`);
      const status = error.code === 'ERR_OIDC_INVALID_REQUEST' ? 400 : OIDC_ERROR_STATUS[error.code];
      sendResponse(res, status, JSON.stringify({ error: status === 400 ? 'invalid_request' : 'temporarily_unavailable', error_description: error.message }), json);
    }
  }

  /**
   * LO-14 (a): any other method gets 405 with `Allow: POST` and `no-store` — not the platform's 404,
   * which would echo the query string (a logout token sent by mistake in a GET) back.
   */
  @Public()
  @Get('backchannel-logout')
  backchannelLogoutGet(@Res() res: PlatformResponse): void {
    this.methodNotAllowed(res);
  }

  @Public()
  @Put('backchannel-logout')
  backchannelLogoutPut(@Res() res: PlatformResponse): void {
    this.methodNotAllowed(res);
  }

  @Public()
  @Patch('backchannel-logout')
  backchannelLogoutPatch(@Res() res: PlatformResponse): void {
    this.methodNotAllowed(res);
  }

  @Public()
  @Delete('backchannel-logout')
  backchannelLogoutDelete(@Res() res: PlatformResponse): void {
    this.methodNotAllowed(res);
  }

  private methodNotAllowed(res: PlatformResponse): void {
    sendResponse(res, 405, JSON.stringify({ error: 'invalid_request', error_description: 'Use POST.' }), {
      ...NO_STORE_HEADERS,
      allow: 'POST',
      'content-type': 'application/json; charset=utf-8',
    });
  }

  /** `GET /auth/frontchannel-logout?iss=…&sid=…` (Front-Channel Logout 1.0), when `logout.frontchannel` is on. */
  @Public()
  @Get('frontchannel-logout')
  async frontchannelLogout(@Req() req: PlatformRequest, @Res() res: PlatformResponse): Promise<void> {
    const headers = { ...NO_STORE_HEADERS, 'cache-control': 'no-cache, no-store', 'content-type': 'text/html; charset=utf-8', 'content-security-policy': "default-src 'none'" };
    if (!this.options.logout.frontchannel) {
      sendResponse(res, 404, '', headers);
      return;
    }
    const query = requestQuery(req);
    try {
      await this.backchannel.handleFrontchannel(query.get('iss'), query.get('sid'));
      sendResponse(res, 200, '<!doctype html><title>Signed out</title>', headers);
    } catch (err) {
      const status = err instanceof OidcError ? OIDC_ERROR_STATUS[err.code] : 500;
      sendResponse(res, status, '<!doctype html><title>Bad request</title>', headers);
    }
  }

  /** `GET /auth/me`: the current {@link OidcUser} as JSON (never raw tokens); 401 without one. */
  @UseGuards(OidcGuard)
  @SetMetadata(NO_LOGIN_REDIRECT_KEY, true)
  @Get('me')
  me(@Req() req: PlatformRequest, @Res() res: PlatformResponse): void {
    const user = getOidcContext(req)!.user;
    sendResponse(res, 200, JSON.stringify(user), { ...NO_STORE_HEADERS, 'content-type': 'application/json; charset=utf-8' });
  }

  private loginPath(): string {
    return new URL(this.options.redirectUri.replace(/\/callback$/, '/login')).pathname;
  }

  private fail(res: PlatformResponse, err: unknown, step: string, retryUrl?: string): void {
    if (err instanceof HttpException) {
      const status = err.getStatus();
      sendResponse(res, status, JSON.stringify({ statusCode: status, message: err.message }), {
        ...NO_STORE_HEADERS,
        'content-type': 'application/json; charset=utf-8',
      });
      return;
    }
    const oidcError =
      err instanceof OidcError
        ? err
        : new OidcError('ERR_OIDC_OP_UNAVAILABLE', 'Something went wrong while signing in; try again.', { cause: err });
    if (!(err instanceof OidcError)) this.logger.error(`Unexpected failure at ${step}: ${(err as Error)?.stack ?? String(err)}`);
    else this.logger.warn(`${step} failed: ${oidcError.code}: ${oidcError.message}`);
    sendErrorPage(res, oidcError, retryUrl);
  }
}

/** The controller class mounted at `prefix` (one per module registration). */
export function createAuthController(prefix: string): Type<OidcAuthController> {
  class MountedOidcAuthController extends OidcAuthController {}
  Controller(prefix)(MountedOidcAuthController);
  return MountedOidcAuthController;
}
