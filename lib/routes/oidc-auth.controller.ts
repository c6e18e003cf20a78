import {
  Controller,
  Delete,
  Get,
  HttpException,
  Logger,
  Patch,
  Post,
  Put,
  Req,
  Res,
  SetMetadata,
  UseGuards,
  type Type,
} from '@nestjs/common';
import { Inject } from '@nestjs/common';
import type { ResolvedOidcOptions } from '../config/resolve-oidc-options.js';
import { Public } from '../decorators/public.decorator.js';
import { AUTHORIZATION_ERROR_CODES } from '../errors/classify-op-error.js';
import { OidcError } from '../errors/oidc.error.js';
import {
  asRouteError,
  sendEmptyOk,
  sendFrontchannelPage,
  sendJson,
  sendLoggedOutLanding,
  sendMethodNotAllowed,
  sendNoStoreRedirect,
  sendRouteError,
} from '../http/error-response.js';
import { requestHeader, requestQuery, type PlatformRequest, type PlatformResponse } from '../http/platform.js';
import { getOidcContext } from '../http/request-context.js';
import { OidcGuard } from '../guards/oidc.guard.js';
import { OidcLoginService } from '../login/oidc-login.service.js';
import { OidcChannelLogoutService } from '../logout/oidc-channel-logout.service.js';
import { OidcLogoutService } from '../logout/oidc-logout.service.js';
import { NO_LOGIN_REDIRECT_KEY, OIDC_OPTIONS } from '../oidc.constants.js';

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
    private readonly channelLogout: OidcChannelLogoutService,
  ) {}

  /** `GET /auth/login?returnTo=/path` → 302 to the OP's authorization endpoint. */
  @Public()
  @Get('login')
  async startLogin(@Req() req: PlatformRequest, @Res() res: PlatformResponse): Promise<void> {
    try {
      const query = requestQuery(req);
      const url = await this.login.buildAuthorizationUrl(req, res, {
        returnTo: query.get('returnTo') ?? undefined,
        acrValues: query.get('acr_values'),
        maxAge: query.get('max_age'),
        prompt: query.get('prompt'),
      });
      sendNoStoreRedirect(res, url.href);
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
      sendNoStoreRedirect(res, returnTo);
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
      sendRouteError(res, new OidcError('ERR_OIDC_INVALID_REQUEST', 'Logout must be started from this site (use POST).'), { page: true });
      return;
    }
    await this.logout(req, res);
  }

  private async logout(req: PlatformRequest, res: PlatformResponse): Promise<void> {
    try {
      const location = await this.logoutService.logout(req, res, requestQuery(req).get('returnTo') ?? undefined);
      sendNoStoreRedirect(res, location);
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
      this.logger.warn(
        `The OP answered the logout with ${code}; check that post_logout_redirect_uri "${this.options.logout.postLogoutRedirectUri}" is registered at the OP exactly (trailing slash included).`,
      );
    }
    sendLoggedOutLanding(res, await this.logoutService.landing(req, res));
  }

  /**
   * `POST /auth/backchannel-logout` (Back-Channel Logout 1.0): 200 when the logout token is valid (even
   * if no session matched), 400 `{ error: 'invalid_request' }` otherwise; always `Cache-Control: no-store`.
   */
  @Public()
  @Post('backchannel-logout')
  async backchannelLogout(@Req() req: PlatformRequest, @Res() res: PlatformResponse): Promise<void> {
    if (!this.options.logout.backchannel) {
      sendJson(res, 404, { error: 'not_found' });
      return;
    }
    try {
      await this.channelLogout.handle(req);
      sendEmptyOk(res);
    } catch (err) {
      const error =
        err instanceof OidcError ? err : new OidcError('ERR_OIDC_INVALID_REQUEST', 'The logout request failed.', { cause: err });
      this.logger.warn(`backchannel-logout refused: ${error.code}: ${error.message}`);
      sendRouteError(res, error, 'backchannel');
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
    sendMethodNotAllowed(res);
  }

  /** `GET /auth/frontchannel-logout?iss=…&sid=…` (Front-Channel Logout 1.0), when `logout.frontchannel` is on. */
  @Public()
  @Get('frontchannel-logout')
  async frontchannelLogout(@Req() req: PlatformRequest, @Res() res: PlatformResponse): Promise<void> {
    if (!this.options.logout.frontchannel) {
      sendFrontchannelPage(res, 404);
      return;
    }
    const query = requestQuery(req);
    try {
      await this.channelLogout.handleFrontchannel(query.get('iss'), query.get('sid'));
      sendFrontchannelPage(res, 200);
    } catch (err) {
      sendRouteError(res, asRouteError(err), 'frontchannel');
    }
  }

  /** `GET /auth/me`: the current {@link OidcUser} as JSON (never raw tokens); 401 without one. */
  @UseGuards(OidcGuard)
  @SetMetadata(NO_LOGIN_REDIRECT_KEY, true)
  @Get('me')
  me(@Req() req: PlatformRequest, @Res() res: PlatformResponse): void {
    const user = getOidcContext(req)!.user;
    sendJson(res, 200, user);
  }

  private loginPath(): string {
    return new URL(this.options.loginUri).pathname;
  }

  private fail(res: PlatformResponse, err: unknown, step: string, retryUrl?: string): void {
    // An `afterCallback` hook may refuse with its own HttpException: its status and message are the app's.
    if (err instanceof HttpException) {
      sendJson(res, err.getStatus(), { statusCode: err.getStatus(), message: err.message });
      return;
    }
    const error = asRouteError(err);
    if (!(err instanceof OidcError)) this.logger.error(`Unexpected failure at ${step}: ${(err as Error)?.stack ?? String(err)}`);
    else this.logger.warn(`${step} failed: ${error.code}: ${error.message}`);
    sendRouteError(res, error, { page: true, retryUrl });
  }
}

/** The controller class mounted at `prefix` (one per module registration). */
export function createAuthController(prefix: string): Type<OidcAuthController> {
  class MountedOidcAuthController extends OidcAuthController {}
  Controller(prefix)(MountedOidcAuthController);
  return MountedOidcAuthController;
}
