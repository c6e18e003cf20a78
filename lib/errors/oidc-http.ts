import { HttpException } from '@nestjs/common';
import { setResponseHeader, type PlatformResponse } from '../http/platform.js';
import { OIDC_ERROR_STATUS, type OidcError } from './oidc.error.js';

/** RFC 6750 §3: quoted-string values must not carry `"` or `\`; keep them printable ASCII. */
function quote(value: string): string {
  return `"${value.replace(/[^\x20-\x7e]|["\\]/g, '')}"`;
}

/** Builds an RFC 6750 §3 / RFC 9449 §7.1 challenge. */
export function challenge(scheme: 'Bearer' | 'DPoP', params: Record<string, string | undefined>): string {
  const parts = Object.entries(params)
    .filter((entry): entry is [string, string] => entry[1] !== undefined)
    .map(([k, v]) => `${k}=${quote(v)}`);
  return parts.length ? `${scheme} ${parts.join(', ')}` : scheme;
}

/**
 * The one mapping from {@link OidcError} to an HTTP answer for guarded routes: status from the code,
 * `WWW-Authenticate` per RFC 6750 §3 on 401 and on `insufficient_scope`, `Cache-Control: no-store`.
 * Headers are set on the response; the returned HttpException carries status and a generic body, so any
 * exception filter the app has still sees a normal Nest exception.
 */
export function toHttpException(
  err: OidcError,
  res: PlatformResponse,
  realm: string,
  extra: { scope?: string; challenges?: string[] } = {},
): HttpException {
  const status = OIDC_ERROR_STATUS[err.code];
  setResponseHeader(res, 'cache-control', 'no-store');
  if (extra.challenges?.length) {
    setResponseHeader(res, 'www-authenticate', extra.challenges.join(', '));
  } else if (err.code === 'ERR_OIDC_UNAUTHENTICATED') {
    // RFC 6750 §3.1: a request with no credentials gets a bare challenge, no error code.
    setResponseHeader(res, 'www-authenticate', challenge('Bearer', { realm }));
  } else if (err.code === 'ERR_OIDC_INVALID_TOKEN') {
    setResponseHeader(res, 'www-authenticate', challenge('Bearer', { realm, error: 'invalid_token', error_description: err.message }));
  } else if (err.code === 'ERR_OIDC_INSUFFICIENT_SCOPE') {
    setResponseHeader(res, 'www-authenticate', challenge('Bearer', { realm, error: 'insufficient_scope', error_description: err.message, scope: extra.scope }));
  }
  return new HttpException({ statusCode: status, error: err.code, message: err.message }, status, { cause: err });
}
