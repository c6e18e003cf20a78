import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import { transportRequestOf } from '../http/execution-context.js';
import { getOidcContext } from '../http/request-context.js';

/** The request's authentication, on an HTTP route, a GraphQL resolver or a WebSocket message handler. */
function context(ctx: ExecutionContext) {
  const request = transportRequestOf(ctx);
  return request ? getOidcContext(request.req) : undefined;
}

/**
 * The authenticated {@link OidcUser}, or one of its merged claims by name.
 *
 * @example
 * ```ts
 * @Get() me(@CurrentUser() user: OidcUser) { return user.claims; }
 * @Get('email') email(@CurrentUser('email') email: string) { return email; }
 * ```
 */
export const CurrentUser = createParamDecorator((claim: string | undefined, ctx: ExecutionContext) => {
  const user = context(ctx)?.user;
  return claim === undefined ? user : user?.claims[claim];
});

/** The validated ID token claims ({@link IdTokenClaims}) of the session; undefined for bearer requests. */
export const IdToken = createParamDecorator((_: unknown, ctx: ExecutionContext) => context(ctx)?.user.idToken);

/** The userinfo claims ({@link UserInfoClaims}) of the session, when they were fetched. */
export const UserInfo = createParamDecorator((_: unknown, ctx: ExecutionContext) => context(ctx)?.user.userinfo);

/** The raw access token of the request (bearer) or of the session. */
export const AccessToken = createParamDecorator((_: unknown, ctx: ExecutionContext) => context(ctx)?.accessToken);
