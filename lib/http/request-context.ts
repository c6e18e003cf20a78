import type { OidcUser } from '../user/oidc-user.js';
import type { PlatformRequest } from './platform.js';

/** What the guard leaves on the request for the parameter decorators. */
export interface OidcRequestContext {
  user: OidcUser;
  /** The raw access token of the request (bearer) or session. */
  accessToken?: string;
}

const CONTEXT = Symbol('nestjs-oidc.context');

export function setOidcContext(req: PlatformRequest, context: OidcRequestContext): void {
  (req as { [CONTEXT]?: OidcRequestContext })[CONTEXT] = context;
  // Passport-compatible: `req.user` is the OidcUser too.
  (req as { user?: OidcUser }).user = context.user;
}

export function getOidcContext(req: PlatformRequest): OidcRequestContext | undefined {
  return (req as { [CONTEXT]?: OidcRequestContext })[CONTEXT];
}
