import { SetMetadata } from '@nestjs/common';
import { AUTH_METHODS_KEY } from '../oidc.constants.js';

/** Credential kinds `OidcGuard` accepts on a route: a session cookie, an `Authorization` header, or both. */
export type OidcCredentialKind = 'session' | 'bearer';

/**
 * Restricts a route or controller to one kind of credential (a method's decorator beats its class's).
 *
 * @example
 * ```ts
 * @AuthMethods('bearer') @Get('api/orders') orders() { … }
 * ```
 */
export const AuthMethods = (...methods: OidcCredentialKind[]): MethodDecorator & ClassDecorator =>
  SetMetadata(AUTH_METHODS_KEY, methods);
