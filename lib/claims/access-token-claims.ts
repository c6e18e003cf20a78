import { IsNotEmpty, IsNumber, IsOptional, IsString } from 'class-validator';
import { IsAudience } from './claims.validation.js';

/** Claims of a JWT access token (RFC 9068 §2.2). Extra claims are kept. */
export class AccessTokenClaims {
  @IsString() @IsNotEmpty() iss!: string;
  @IsString() @IsNotEmpty() sub!: string;
  @IsAudience()
  aud!: string | string[];
  @IsNumber() exp!: number;
  @IsOptional() @IsNumber() iat?: number;
  @IsOptional() @IsString() client_id?: string;
  @IsOptional() @IsString() jti?: string;
  @IsOptional() @IsString() scope?: string;
  [claim: string]: unknown;
}

/**
 * The class-validator rules of {@link AccessTokenClaims}, written out for the verifier's hot path (a fresh token
 * per request): true exactly when `validateSync` would find no error in an instance built from `claims`. A spec
 * holds the two in step on generated claim sets; class-validator still names the members when this is false.
 */
export function hasAccessTokenClaimsShape(claims: Record<string, unknown>): boolean {
  const { iss, sub, aud, exp, iat, client_id, jti, scope } = claims;
  return (
    isNonEmpty(iss) &&
    isNonEmpty(sub) &&
    (isNonEmpty(aud) || (Array.isArray(aud) && aud.length > 0 && aud.every(isNonEmpty))) &&
    isNumber(exp) &&
    (iat === undefined || iat === null || isNumber(iat)) &&
    isOptionalString(client_id) &&
    isOptionalString(jti) &&
    isOptionalString(scope)
  );
}

function isNonEmpty(value: unknown): boolean {
  return typeof value === 'string' && value.length > 0;
}

/** class-validator's `@IsNumber()`: a number, neither NaN nor ±Infinity. */
function isNumber(value: unknown): boolean {
  return typeof value === 'number' && Number.isFinite(value);
}

/** `@IsOptional() @IsString()`: undefined and null are skipped. */
function isOptionalString(value: unknown): boolean {
  return value === undefined || value === null || typeof value === 'string';
}
