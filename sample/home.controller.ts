import { Controller, Get, UseGuards } from '@nestjs/common';
import { CurrentUser, OidcGuard, Public, type OidcUser } from '../lib/index.js';
import { displayName, escapeHtml, HtmlPage, logoutForm, page } from './html.js';

/**
 * The public home page. `@Public()` lets anonymous visitors in, and because `OidcGuard` still runs,
 * a signed-in visitor's session populates `@CurrentUser()`.
 */
@Controller()
@UseGuards(OidcGuard)
export class HomeController {
  @Public()
  @Get()
  @HtmlPage()
  home(@CurrentUser() user: OidcUser | undefined): string {
    if (!user) {
      return page(
        'nestjs-oidc sample',
        `<h1>nestjs-oidc sample</h1>
<p>You are not signed in.</p>
<p><a class="button" href="/auth/login?returnTo=/profile">Log in</a></p>
<p class="muted">Signing in sends you to the OpenID Provider and back to your profile page.
<a href="/routes">The routes the module mounted</a>.</p>`,
      );
    }
    return page(
      'nestjs-oidc sample',
      `<h1>nestjs-oidc sample</h1>
<p>Signed in as <strong>${escapeHtml(displayName(user.claims, user.sub))}</strong>.</p>
<nav><a href="/profile">Your profile</a> <a href="/api/me">/api/me (JSON)</a> ${logoutForm()}</nav>`,
    );
  }
}

/** What OidcModule mounts under the default prefix `auth` (API.md §2), for the routes page. */
const MODULE_ROUTES: ReadonlyArray<[string, string]> = [
  ['GET /auth/login?returnTo=/path', 'starts a login: 302 to the OP with state, nonce and PKCE'],
  ['GET|POST /auth/callback', 'the OP sends the browser back here; a new session, then 302 to returnTo'],
  ['POST /auth/logout', "ends the session, revokes its tokens, then the OP's logout"],
  ['GET /auth/logout/callback', 'where the OP returns after logout (Clear-Site-Data, then returnTo)'],
  ['POST /auth/backchannel-logout', 'the OP ends sessions server to server (logout_token)'],
  ['GET /auth/me', 'the current user as JSON, 401 without one'],
];

/** `GET /routes`: the routes the module mounted in this app, and the app's own. */
@Controller()
export class RoutesController {
  @Get('routes')
  @HtmlPage()
  routes(): string {
    const rows = MODULE_ROUTES.map(
      ([route, what]) => `<tr><td><code>${escapeHtml(route)}</code></td><td>${escapeHtml(what)}</td></tr>`,
    ).join('\n');
    return page(
      'Routes — nestjs-oidc sample',
      `<h1>Routes</h1>
<h2>Mounted by OidcModule</h2>
<table><thead><tr><th scope="col">Route</th><th scope="col">What it does</th></tr></thead><tbody>
${rows}
</tbody></table>
<h2>The sample's own</h2>
<table><tbody>
<tr><td><code>GET /</code></td><td>home (public; shows the user when signed in)</td></tr>
<tr><td><code>GET /profile</code></td><td>the user's claims (session; a browser without one is sent to log in)</td></tr>
<tr><td><code>GET /live</code>, <code>POST /graphql</code>, socket.io <code>whoami</code></td><td>GraphQL (<code>{ viewer { sub } }</code>) and a WebSocket gateway, with the session or a Bearer token</td></tr>
<tr><td><code>GET /profile/strong</code></td><td>needs the stronger sign-in (<code>@StepUp</code>, RFC 9470): a weaker session logs in again</td></tr>
<tr><td><code>GET /profile/api-token</code></td><td>an access token for the API, with a curl line</td></tr>
<tr><td><code>GET /api/me</code></td><td>the user as JSON: the session cookie or <code>Authorization: Bearer</code></td></tr>
</tbody></table>
<nav><a href="/">Home</a></nav>`,
    );
  }
}
