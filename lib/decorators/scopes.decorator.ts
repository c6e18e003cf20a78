import { SetMetadata } from '@nestjs/common';
import { SCOPES_KEY } from '../oidc.constants.js';

/**
 * Requires every listed scope (RFC 6749 §3.3); missing → 403 `insufficient_scope` (RFC 6750 §3.1).
 *
 * @see RFC 6750 §3.1 (insufficient_scope)
 * @example
 * ```ts
 * @Scopes('orders:read') @Get('orders') orders() { … }
 * ```
 */
export const Scopes = (...scopes: string[]): MethodDecorator & ClassDecorator => SetMetadata(SCOPES_KEY, scopes);
