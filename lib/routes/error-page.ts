import { OIDC_ERROR_STATUS, type OidcError } from '../errors/oidc.error.js';
import { sendResponse, type PlatformResponse } from '../http/platform.js';

const TITLES: Record<number, string> = {
  400: 'Bad request',
  401: 'Sign-in failed',
  403: 'Forbidden',
  502: 'Sign-in provider error',
  503: 'Sign-in temporarily unavailable',
  504: 'Sign-in provider timed out',
};

/** Headers on every answer of the built-in routes (SE-02, SE-08): never cached, never leaking a referrer. */
export const NO_STORE_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'cache-control': 'no-store',
  pragma: 'no-cache',
  'referrer-policy': 'no-referrer',
  'x-content-type-options': 'nosniff',
});

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/**
 * A small, self-contained error page: the module's own message (never the request's input or the OP's
 * `error_description`, LF-07), escaped, no external resources.
 */
export function sendErrorPage(res: PlatformResponse, err: OidcError, retryUrl?: string): void {
  const status = OIDC_ERROR_STATUS[err.code];
  const title = TITLES[status] ?? 'Error';
  const retry = retryUrl ? `<p><a href="${escapeHtml(retryUrl)}">Try signing in again</a></p>` : '';
  const body = `<!doctype html><html><head><meta charset="utf-8"><title>${title}</title></head><body><h1>${title}</h1><p>${escapeHtml(err.message)}</p><p><code>${err.code}</code></p>${retry}</body></html>`;
  sendResponse(res, status, body, {
    ...NO_STORE_HEADERS,
    'content-type': 'text/html; charset=utf-8',
    'content-security-policy': "default-src 'none'",
  });
}
