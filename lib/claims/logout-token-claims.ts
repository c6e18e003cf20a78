import { IsNotEmpty, IsNumber, IsObject, IsOptional, IsString } from 'class-validator';
import { IsAudience } from './claims.validation.js';

/** Claims of a Back-Channel Logout token (Back-Channel Logout 1.0 §2.4). */
export class LogoutTokenClaims {
  @IsString() @IsNotEmpty() iss!: string;
  @IsAudience()
  aud!: string | string[];
  @IsNumber() iat!: number;
  @IsNumber() exp!: number;
  @IsString() @IsNotEmpty() jti!: string;
  @IsObject() events!: Record<string, unknown>;
  @IsOptional() @IsString() @IsNotEmpty() sub?: string;
  @IsOptional() @IsString() @IsNotEmpty() sid?: string;
  [claim: string]: unknown;
}
