import { IsBoolean, IsNotEmpty, IsOptional, IsString } from 'class-validator';

/** Claims from the UserInfo endpoint (OIDC Core §5.3.2). Extra claims are kept. */
export class UserInfoClaims {
  @IsString() @IsNotEmpty() sub!: string;
  @IsOptional() @IsString() name?: string;
  @IsOptional() @IsString() given_name?: string;
  @IsOptional() @IsString() family_name?: string;
  @IsOptional() @IsString() preferred_username?: string;
  @IsOptional() @IsString() email?: string;
  @IsOptional() @IsBoolean() email_verified?: boolean;
  @IsOptional() @IsString() picture?: string;
  @IsOptional() @IsString() locale?: string;
  [claim: string]: unknown;
}
