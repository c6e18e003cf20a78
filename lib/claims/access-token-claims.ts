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
