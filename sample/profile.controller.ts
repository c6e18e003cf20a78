import { Controller, Get, UseGuards } from '@nestjs/common';
import { CurrentUser, OidcGuard, type OidcUser } from '../lib/index.js';
import { claimText, displayName, escapeHtml, HtmlPage, logoutForm, page } from './html.js';

/** Claims that are epoch seconds (OIDC Core §2, §5.1); shown with a readable date as well. */
const TIME_CLAIMS = new Set(['iat', 'exp', 'nbf', 'auth_time', 'updated_at']);

function claimCell(name: string, value: unknown): string {
  const text = escapeHtml(claimText(value));
  const cell = typeof value === 'object' && value !== null ? `<pre>${text}</pre>` : text;
  if (TIME_CLAIMS.has(name) && typeof value === 'number' && Number.isFinite(value)) {
    return `${cell} <span class="muted">(${escapeHtml(new Date(value * 1000).toISOString())})</span>`;
  }
  return cell;
}

/** Renders an `OidcUser`'s claims as an HTML table; every name and value is escaped. */
export function claimsTable(claims: Record<string, unknown>): string {
  const rows = Object.entries(claims)
    .map(([name, value]) => `<tr><th scope="row">${escapeHtml(name)}</th><td>${claimCell(name, value)}</td></tr>`)
    .join('\n');
  return `<table>\n<thead><tr><th scope="col">Claim</th><th scope="col">Value</th></tr></thead>\n<tbody>\n${rows}\n</tbody>\n</table>`;
}

/**
 * Everything here needs a signed-in user. Without a session, a browser navigation (Accept: text/html)
 * is redirected to `/auth/login?returnTo=…`; an API call (`fetch`, curl) gets 401.
 */
@Controller()
@UseGuards(OidcGuard)
export class ProfileController {
  /** `GET /profile`: the user's claims (ID token + userinfo, merged) as an HTML page. */
  @Get('profile')
  @HtmlPage()
  profile(@CurrentUser() user: OidcUser): string {
    const expires = user.expiresAt ? ` Your session ends by ${escapeHtml(new Date(user.expiresAt * 1000).toISOString())} at the latest.` : '';
    return page(
      `Profile of ${displayName(user.claims, user.sub)}`,
      `<h1>Hello, ${escapeHtml(displayName(user.claims, user.sub))}</h1>
<p class="muted">Subject <code>${escapeHtml(user.sub)}</code> at <code>${escapeHtml(user.issuer)}</code>, authenticated by <code>${escapeHtml(user.authMethod)}</code>.${expires}</p>
<h2>Claims</h2>
${claimsTable(user.claims)}
<p>Granted scopes: <code>${escapeHtml(user.scopes.join(' ') || '(none)')}</code></p>
<nav><a href="/">Home</a> <a href="/api/me">/api/me (JSON)</a> <a href="/auth/me">/auth/me (built-in)</a> ${logoutForm()}</nav>`,
    );
  }

  /** `GET /api/me`: the same user as JSON (no tokens). */
  @Get('api/me')
  me(@CurrentUser() user: OidcUser): { sub: string; issuer: string; authMethod: string; claims: Record<string, unknown>; scopes: string[] } {
    return { sub: user.sub, issuer: user.issuer, authMethod: user.authMethod, claims: user.claims, scopes: user.scopes };
  }
}
