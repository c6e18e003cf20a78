import { SetMetadata } from '@nestjs/common';
import { AUTH_METHODS_KEY } from '../oidc.constants.js';

/**
 * Where a route takes its credential from: `'session'` (the session cookie) or `'bearer'` (the `Authorization`
 * header, with either the Bearer or the DPoP scheme). The scheme a request actually used is
 * `OidcAuthMethod` on the user (`'session' | 'bearer' | 'dpop'`).
 */
export type OidcCredentialSource = 'session' | 'bearer';

/**
 * Both credential sources: what a route accepts without `@AuthMethods()`.
 *
 * @internal
 */
export const ALL_CREDENTIAL_SOURCES: readonly OidcCredentialSource[] = Object.freeze(['session', 'bearer']);

/**
 * Restricts a route or controller to one kind of credential (a method's decorator beats its class's).
 *
 * @example
 * ```ts
 * @AuthMethods('bearer') @Get('api/orders') orders() { … }
 * ```
 */
export const AuthMethods = (...methods: OidcCredentialSource[]): MethodDecorator & ClassDecorator => SetMetadata(AUTH_METHODS_KEY, methods);
