import { IsArray, IsBoolean, IsOptional, IsString, IsUrl } from 'class-validator';

/** The OP's discovery metadata (OIDC Discovery §3) as the module uses it. Extra members are kept. */
export class ProviderMetadata {
  @IsString() issuer!: string;
  @IsOptional() @IsUrl({ require_tld: false, require_protocol: true }) authorization_endpoint?: string;
  @IsOptional() @IsUrl({ require_tld: false, require_protocol: true }) token_endpoint?: string;
  @IsOptional() @IsUrl({ require_tld: false, require_protocol: true }) userinfo_endpoint?: string;
  @IsOptional() @IsUrl({ require_tld: false, require_protocol: true }) jwks_uri?: string;
  @IsOptional() @IsUrl({ require_tld: false, require_protocol: true }) end_session_endpoint?: string;
  @IsOptional() @IsUrl({ require_tld: false, require_protocol: true }) revocation_endpoint?: string;
  @IsOptional() @IsUrl({ require_tld: false, require_protocol: true }) introspection_endpoint?: string;
  @IsOptional() @IsArray() id_token_signing_alg_values_supported?: string[];
  @IsOptional() @IsBoolean() authorization_response_iss_parameter_supported?: boolean;
  @IsOptional() @IsBoolean() backchannel_logout_supported?: boolean;
  [member: string]: unknown;
}
