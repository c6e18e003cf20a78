import { Controller, Get, UseGuards } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { CurrentUser, OidcGuard, OidcTokenService, StepUp, type OidcUser } from '../lib/index.js';
import { ACR_STRONG } from './dev-op.js';
import { SAMPLE_API_AUDIENCE } from './dev-client.js';
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
  private readonly audience: string;
  private readonly baseUrl: string;

  constructor(
    private readonly tokens: OidcTokenService,
    config: ConfigService,
  ) {
    this.audience = config.get('API_AUDIENCE') || SAMPLE_API_AUDIENCE;
    this.baseUrl = (config.get('BASE_URL') || `http://localhost:${config.get('PORT') || 3000}`).replace(/\/+$/, '');
  }

  /** `GET /profile`: the user's claims (ID token + userinfo, merged) as an HTML page. */
  @Get('profile')
  @HtmlPage()
  profile(@CurrentUser() user: OidcUser): string {
    const expires = user.expiresAt
      ? ` Your session ends by ${escapeHtml(new Date(user.expiresAt * 1000).toISOString())} at the latest.`
      : '';
    return page(
      `Profile of ${displayName(user.claims, user.sub)}`,
      `<h1>Hello, ${escapeHtml(displayName(user.claims, user.sub))}</h1>
<p class="muted">Subject <code>${escapeHtml(user.sub)}</code> at <code>${escapeHtml(user.issuer)}</code>, authenticated by <code>${escapeHtml(user.authMethod)}</code>.${expires}</p>
<h2>Claims</h2>
${claimsTable(user.claims)}
<p>Granted scopes: <code>${escapeHtml(user.scopes.join(' ') || '(none)')}</code></p>
<p><a class="button secondary" href="/profile/api-token">Get an access token for the API</a> — then call <code>/api/me</code> with <code>curl</code>.</p>
<p><a class="button secondary" href="/live">GraphQL and WebSockets</a> with your session.</p>
<p><a class="button secondary" href="/profile/strong">A page that needs the stronger sign-in</a> (<code>@StepUp</code>; choose "password + security key" at the OP).</p>
<nav><a href="/">Home</a> <a href="/api/me">/api/me (JSON)</a> <a href="/auth/me">/auth/me (built-in)</a> <a href="/routes">Routes</a> ${logoutForm()}</nav>`,
    );
  }

  /** `GET /profile/strong`: only for a stronger sign-in (RFC 9470 step-up); a weaker session is sent to log in again. */
  @Get('profile/strong')
  @StepUp({ acr: [ACR_STRONG] })
  @HtmlPage()
  strong(@CurrentUser() user: OidcUser): string {
    return page(
      'Stronger sign-in',
      `<h1>Signed in strongly</h1>
<p>acr <code>${escapeHtml(user.acr ?? '(none)')}</code>, amr <code>${escapeHtml((user.amr ?? []).join(' ') || '(none)')}</code>.</p>
<nav><a href="/profile">Back to your profile</a></nav>`,
    );
  }

  /**
   * `GET /profile/api-token`: an access token for the API (`/api/me` accepts it as a Bearer token) and the
   * curl line that uses it. The app asks the OP with its own client credentials (RFC 6749 §4.4): a token for
   * the API, not one of the user's — for trying the Bearer path from a terminal.
   */
  @Get('profile/api-token')
  @HtmlPage()
  async apiToken(): Promise<string> {
    let body: string;
    try {
      const { accessToken } = await this.tokens.clientCredentials({ resource: this.audience });
      const curl = `curl -H "Authorization: Bearer ${accessToken}" ${this.baseUrl}/api/me`;
      body = `<p>A Bearer token for <code>${escapeHtml(this.audience)}</code>, valid for an hour. Copy this into a terminal:</p>
<pre id="curl">${escapeHtml(curl)}</pre>
<p class="muted">The answer is the token's user (the app's own client) with <code>"authMethod": "bearer"</code>.</p>`;
    } catch (err) {
      body = `<p>The OP would not issue a token for the API (${escapeHtml((err as Error).message)}).</p>`;
    }
    return page(
      'An access token for the API',
      `<h1>An access token for the API</h1>\n${body}\n<nav><a href="/profile">Back to your profile</a></nav>`,
    );
  }

  /** `GET /api/me`: the same user as JSON (no tokens). */
  @Get('api/me')
  me(@CurrentUser() user: OidcUser): {
    sub: string;
    issuer: string;
    authMethod: string;
    claims: Record<string, unknown>;
    scopes: string[];
  } {
    return { sub: user.sub, issuer: user.issuer, authMethod: user.authMethod, claims: user.claims, scopes: user.scopes };
  }
}
