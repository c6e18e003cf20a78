import type { ClientMetadata } from 'oidc-provider';

/** client_id of the sample at the development OP. */
export const DEV_CLIENT_ID = 'sample-app';
/** Its client secret: fixed, public, and only good for the development OP. */
export const DEV_CLIENT_SECRET = 'sample-app-dev-client-secret-not-a-secret';
/** The API whose access tokens `/api/me` accepts as Bearer tokens: the development OP's resource server. */
export const SAMPLE_API_AUDIENCE = 'https://api.example.test';
/** The session secret `npm run sample` uses when SESSION_SECRET is unset. Development only. */
export const DEV_SESSION_SECRET = 'sample-dev-session-secret-never-use-in-production';

/**
 * The sample's registration at the development OP (sample/dev-op.ts): a confidential web client
 * whose redirect, post-logout and back-channel logout URIs are derived from the app's `baseUrl` —
 * the same `baseUrl` the module builds its `redirect_uri` from, so the two always agree.
 */
export function devClient(baseUrl: string): ClientMetadata {
  const base = baseUrl.replace(/\/+$/, '');
  return {
    client_id: DEV_CLIENT_ID,
    client_secret: DEV_CLIENT_SECRET,
    client_name: 'nestjs-oidc sample',
    application_type: 'web',
    redirect_uris: [`${base}/auth/callback`],
    // the module sends `logout.postLogoutRedirectUri`, which defaults to its landing route <baseUrl>/auth/logout/callback
    post_logout_redirect_uris: [`${base}/auth/logout/callback`],
    // client_credentials: the profile page's "token for the API" button (a JWT for SAMPLE_API_AUDIENCE)
    grant_types: ['authorization_code', 'refresh_token', 'client_credentials'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
    backchannel_logout_uri: `${base}/auth/backchannel-logout`,
    backchannel_logout_session_required: true,
  };
}
