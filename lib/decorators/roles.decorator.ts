import { SetMetadata } from '@nestjs/common';
import { CLAIM_CHECKS_KEY, ROLES_KEY } from '../oidc.constants.js';

/**
 * Requires at least one of the listed roles (read with the `roles.claim` option); missing → 403.
 *
 * @example
 * ```ts
 * @Roles('admin') @Get('admin') admin() { … }
 * ```
 */
export const Roles = (...roles: string[]): MethodDecorator & ClassDecorator => SetMetadata(ROLES_KEY, roles);

/** A predicate over the user's merged claims. */
export type ClaimCheck = (claims: Record<string, unknown>) => boolean;

/**
 * Requires the predicate to hold on the user's claims; otherwise 403.
 *
 * @example
 * ```ts
 * @RequireClaims((c) => c.email_verified === true) @Get('billing') billing() { … }
 * ```
 */
export const RequireClaims = (check: ClaimCheck): MethodDecorator & ClassDecorator => SetMetadata(CLAIM_CHECKS_KEY, check);
