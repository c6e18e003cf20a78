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
<p class="muted">Signing in sends you to the OpenID Provider and back to your profile page.</p>`,
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
