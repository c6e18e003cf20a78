import { SetMetadata } from '@nestjs/common';
import { STEP_UP_KEY } from '../oidc.constants.js';

/** What `@StepUp()` asks of the user's authentication (RFC 9470 §2). */
export interface StepUpRequirement {
  /** The `acr` (authentication context class) the user must have authenticated with: one of these. */
  readonly acr?: readonly string[];
  /** At most this many seconds since the user last authenticated (`auth_time`). */
  readonly maxAge?: number;
}

/**
 * RFC 9470 §3 / OIDC Core §3.1.2.1: `acr_values` is a space-separated list, so a value is one printable token. The login
 * route (`/auth/login?acr_values=…&max_age=…`) takes what these allow, so a `@StepUp()` route's redirect always passes it.
 *
 * @internal
 */
export const ACR_VALUE = /^[\x21-\x7e]{1,255}$/;
/** @internal */
export const MAX_ACR_VALUES = 10;
/** Largest `max_age` in seconds (nine digits: about 31 years). @internal */
export const MAX_MAX_AGE = 999_999_999;

/**
 * Requires a stronger or more recent authentication than the session or token may have (RFC 9470).
 *
 * - Bearer/DPoP: a token whose `acr` is not one of `acr`, or whose `auth_time` is older than `maxAge`, gets 401
 *   with `WWW-Authenticate: Bearer error="insufficient_user_authentication", acr_values="…", max_age="…"`.
 * - Session, browser navigation: a 302 through `/auth/login?acr_values=…&max_age=…` (the login asks the OP for
 *   them, and the callback refuses an ID token that falls short); session, API call: the same 401.
 *
 * A method's decorator beats its class's. Checked after authentication, before `@Scopes()`/`@Roles()`.
 *
 * @see RFC 9470 §3, OIDC Core §3.1.2.1 (acr_values, max_age)
 * @example
 * ```ts
 * @StepUp({ acr: ['urn:example:mfa'], maxAge: 300 }) @Post('transfers') transfer() { … }
 * ```
 */
export function StepUp(requirement: StepUpRequirement): MethodDecorator & ClassDecorator {
  const { acr, maxAge } = requirement ?? {};
  if (acr === undefined && maxAge === undefined) throw new TypeError('@StepUp(): give `acr`, `maxAge` or both.');
  if (
    acr !== undefined &&
    (!Array.isArray(acr) ||
      acr.length === 0 ||
      acr.length > MAX_ACR_VALUES ||
      !acr.every((v) => typeof v === 'string' && ACR_VALUE.test(v)))
  ) {
    throw new TypeError(`@StepUp(): \`acr\` must be an array of 1 to ${MAX_ACR_VALUES} acr values (printable, no spaces).`);
  }
  if (maxAge !== undefined && (!Number.isInteger(maxAge) || maxAge < 0 || maxAge > MAX_MAX_AGE)) {
    throw new TypeError(`@StepUp(): \`maxAge\` must be a whole number of seconds from 0 to ${MAX_MAX_AGE}.`);
  }
  const frozen: StepUpRequirement = Object.freeze({
    ...(acr === undefined ? {} : { acr: Object.freeze([...acr]) }),
    ...(maxAge === undefined ? {} : { maxAge }),
  });
  return SetMetadata(STEP_UP_KEY, frozen);
}
