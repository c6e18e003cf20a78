import type { OidcUser } from '../user/oidc-user.js';
import type { PlatformRequest } from './platform.js';

/** What the guard leaves on the request for the parameter decorators. */
export interface OidcRequestContext {
  user: OidcUser;
  /** The raw access token of the request (bearer) or session. */
  accessToken?: string;
}

/**
 * The context of each request, beside the request rather than on it: Express re-parents every request
 * (`setPrototypeOf`), after which V8 adds a property to it slowly (microseconds each); a WeakMap entry is cheap
 * and goes with the request.
 */
const contexts = new WeakMap<PlatformRequest, OidcRequestContext>();

export function setOidcContext(req: PlatformRequest, context: OidcRequestContext): void {
  contexts.set(req, context);
  // Passport-compatible: `req.user` is the OidcUser too.
  (req as { user?: OidcUser }).user = context.user;
}

export function getOidcContext(req: PlatformRequest): OidcRequestContext | undefined {
  return contexts.get(req);
}
