import { SetMetadata } from '@nestjs/common';
import { IS_PUBLIC_KEY } from '../oidc.constants.js';

/**
 * Lets anonymous requests through `OidcGuard`; valid credentials, when present, still populate the user.
 *
 * @example
 * ```ts
 * @Public() @Get('health') health() { return 'ok'; }
 * ```
 */
export const Public = (): MethodDecorator & ClassDecorator => SetMetadata(IS_PUBLIC_KEY, true);
