import { IsArray, IsNotEmpty, IsNumber, IsOptional, IsString } from 'class-validator';
import { IsAudience } from './claims.validation.js';

/**
 * Claims of a validated ID token (OIDC Core §2). Standard members are typed and checked at runtime;
 * any other claim the OP sends is kept as an extra property.
 */
export class IdTokenClaims {
  /** Issuer identifier. */
  @IsString() @IsNotEmpty() iss!: string;
  /** Subject: the End-User's stable identifier at the issuer. */
  @IsString() @IsNotEmpty() sub!: string;
  /** Audience(s); contains the client id. */
  @IsAudience()
  aud!: string | string[];
  /** Expiry, epoch seconds. */
  @IsNumber() exp!: number;
  /** Issued at, epoch seconds. */
  @IsNumber() iat!: number;
  @IsOptional() @IsNumber() auth_time?: number;
  @IsOptional() @IsString() nonce?: string;
  @IsOptional() @IsString() acr?: string;
  @IsOptional() @IsArray() @IsString({ each: true }) amr?: string[];
  @IsOptional() @IsString() azp?: string;
  /** OP session id (Front/Back-Channel Logout). */
  @IsOptional() @IsString() sid?: string;
  @IsOptional() @IsString() name?: string;
  @IsOptional() @IsString() email?: string;
  [claim: string]: unknown;
}
