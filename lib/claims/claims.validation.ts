import { ValidateBy, validateSync } from 'class-validator';
import { OidcError } from '../errors/oidc.error.js';

/**
 * Builds a claims class instance from untrusted JSON and checks its standard members with class-validator.
 * Extra claims are kept as they are. A shape that does not fit (a JSON array, `sub` as a number, …)
 * is an {@link OidcError} `ERR_OIDC_INVALID_RESPONSE`, never a crash further on.
 */
export function toClaims<T extends object>(Cls: new () => T, value: unknown, what: string): T {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new OidcError('ERR_OIDC_INVALID_RESPONSE', `${what} must be a JSON object.`);
  }
  const instance = Object.assign(new Cls(), value);
  const errors = validateSync(instance, { forbidUnknownValues: false, whitelist: false, skipMissingProperties: false });
  if (errors.length > 0) {
    const names = errors.map((e) => e.property).join(', ');
    throw new OidcError('ERR_OIDC_INVALID_RESPONSE', `${what} has invalid or missing claims: ${names}.`);
  }
  return instance;
}

/** Rebuilds a claims instance from data this module validated before (sealed session data): no re-validation. */
export function reviveClaims<T extends object>(Cls: new () => T, value: object): T {
  return Object.assign(new Cls(), value);
}

/** `aud`-style member: a non-empty string or a non-empty array of non-empty strings (RFC 7519 §4.1.3). */
export function IsAudience(): PropertyDecorator {
  return ValidateBy({
    name: 'isAudience',
    validator: {
      validate: (value: unknown) =>
        (typeof value === 'string' && value.length > 0) ||
        (Array.isArray(value) && value.length > 0 && value.every((v) => typeof v === 'string' && v.length > 0)),
      defaultMessage: () => '$property must be a string or an array of strings',
    },
  });
}

/**
 * Freezes a JSON-like value and everything in it, however deep (iteratively: a token's nesting cannot
 * exhaust the stack). Claims shared by several requests — a cached access token's, a session's opened
 * payload's — are frozen once, when they are first built, so no request can change them for the next.
 */
export function deepFreeze<T>(value: T): T {
  const pending: unknown[] = [value];
  while (pending.length > 0) {
    const node = pending.pop();
    if (typeof node !== 'object' || node === null || Object.isFrozen(node)) continue;
    Object.freeze(node);
    for (const key of Object.keys(node)) pending.push((node as Record<string, unknown>)[key]);
  }
  return value;
}

/**
 * Whether `value` is a JSON object: an object that is neither null nor an array.
 *
 * @internal
 */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
