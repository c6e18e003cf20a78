import type { INestApplicationContext } from '@nestjs/common';
import type { ResolvedOidcOptions } from '../config/resolve-oidc-options.js';
import { OIDC_OPTIONS } from '../oidc.constants.js';
import { OidcSessionService } from '../session/oidc-session.service.js';

/** Options of {@link sessionCookieFor}. */
export interface SessionCookieOptions {
  /** The session's access token (what `@AccessToken()` and `OidcTokenService` give). @default 'test-access-token' */
  accessToken?: string;
  /** Granted scopes (space-separated). @default 'openid profile email' */
  scope?: string;
  /** Claims as userinfo would add them. */
  userinfo?: Record<string, unknown>;
}

/**
 * The `Cookie` header value of a real session in `app`'s own session store for a user with these ID-token claims —
 * no browser and no OP round trip. The session is created by the module itself (sealed, signed, with the app's
 * secret), so the guard, `@CurrentUser()` and logout treat it like any other.
 *
 * @example
 * ```ts
 * const cookie = await sessionCookieFor(app, { sub: 'alice', email: 'alice@example.com' });
 * await request(app.getHttpServer()).get('/profile').set('Cookie', cookie).expect(200);
 * ```
 */
export async function sessionCookieFor(
  app: INestApplicationContext,
  claims: { sub: string } & Record<string, unknown>,
  options: SessionCookieOptions = {},
): Promise<string> {
  const resolved = app.get<symbol, ResolvedOidcOptions>(OIDC_OPTIONS);
  const sessions = app.get(OidcSessionService);
  const headers: Record<string, unknown> = {};
  const res = { getHeader: (name: string) => headers[name], setHeader: (name: string, value: unknown) => void (headers[name] = value) };
  const now = Math.floor(Date.now() / 1000);
  const iss = typeof claims.iss === 'string' ? claims.iss : resolved.issuer;
  await sessions.create({ headers: {}, rawHeaders: [] }, res, {
    iss,
    sub: claims.sub,
    ...(typeof claims.sid === 'string' ? { sid: claims.sid } : {}),
    idTokenClaims: { iss, aud: resolved.clientId, iat: now, exp: now + 300, ...claims },
    accessToken: options.accessToken ?? 'test-access-token',
    scope: options.scope ?? 'openid profile email',
    ...(options.userinfo ? { userinfo: { sub: claims.sub, ...options.userinfo } } : {}),
  });
  const setCookie = [headers['set-cookie'] ?? []].flat().map(String);
  const session = setCookie.find((c) => c.startsWith(`${resolved.session.cookieName}=`));
  if (!session) throw new Error('sessionCookieFor(): the app has no session (is `session` configured and `routes` on?).');
  return session.split(';')[0]!;
}
