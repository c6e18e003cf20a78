/**
 * What a real browser does: headless Chromium (Debian's `chromium`, driven by playwright-core) with its
 * back/forward cache ON, as in a person's browser (Playwright turns it off by default). The sample app runs on
 * `localhost`, its development OP on `127.0.0.1` — two sites, as in production. Express and Fastify.
 *
 * Cases: the sample's own journey (home → login as any user → profile → logout, home again, logged out); Back
 * after logout never shows the previous user's private page (Clear-Site-Data on the post-logout landing); the
 * cookies Chromium actually stores.
 *
 * Needs Chromium: CHROMIUM_PATH, or /usr/bin/chromium (`apt-get install chromium`; `.ci/run` installs it).
 * Without one the suite is left out of the run, and the run says so — except under CI=true, where it fails.
 */
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { chromium, type Browser as Chromium, type Page } from 'playwright-core';
import { PLATFORMS, startTestApp, type TestApp } from './fixtures/app.fixture.js';
import { getFreePort } from './fixtures/ports.js';
import { startTestOp, TEST_CLIENT_ID, TEST_CLIENT_SECRET, webClient, type TestOp } from './fixtures/op.fixture.js';
import { useSampleWithOp } from './fixtures/sample-app.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
/** A navigation on a loaded machine can be slow; this bounds a hang, it is not a speed assertion. */
const STEP_MS = 20_000;

let browser: Chromium;

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`No Chromium at ${CHROMIUM}: install Debian's chromium package or set CHROMIUM_PATH.`);
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    // Keep the back/forward cache on, as in a person's browser: that is where private pages linger.
    ignoreDefaultArgs: ['--disable-back-forward-cache'],
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}, 60_000);

afterAll(async () => {
  await browser?.close();
});

describe.each(PLATFORMS)('in a real browser: the sample (%s)', (platform) => {
  const sample = useSampleWithOp(platform);
  let op: TestOp;
  let baseUrl: string;
  beforeAll(() => {
    ({ op, baseUrl } = sample);
  });

  async function logIn(page: Page, username: string): Promise<void> {
    await page.goto(`${baseUrl}/`, { timeout: STEP_MS });
    await page.click('a[href="/auth/login?returnTo=/profile"]', { timeout: STEP_MS });
    await page.waitForURL((url) => url.origin === op.issuer, { timeout: STEP_MS });
    await page.fill('input[name="login"]', username, { timeout: STEP_MS });
    await page.click('button[type="submit"]', { timeout: STEP_MS });
    await page.waitForURL(`${baseUrl}/profile`, { timeout: STEP_MS });
  }

  async function logOut(page: Page): Promise<void> {
    await page.click('form[action="/auth/logout"] button', { timeout: STEP_MS });
    // The OP asks for confirmation (the dev OP's page submits itself), then sends the browser to the landing
    // route, which ends on the home page.
    await page.waitForURL(`${baseUrl}/`, { timeout: STEP_MS });
  }

  it('the journey: home → login as any user → profile with the claims → logout → home, logged out', async () => {
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      await logIn(page, 'alice-in-chromium');
      expect(await page.textContent('body')).toContain('alice-in-chromium');

      // What Chromium actually stores: an HttpOnly, SameSite=Lax, host-only session cookie on the app's host.
      const session = (await context.cookies(baseUrl)).find((c) => c.name === 'oidc.session');
      expect(session).toMatchObject({ httpOnly: true, sameSite: 'Lax', path: '/', domain: 'localhost' });

      await logOut(page);
      expect(await page.textContent('body')).not.toContain('alice-in-chromium');
      expect(page.url()).toBe(`${baseUrl}/`);
      expect((await context.cookies(baseUrl)).find((c) => c.name === 'oidc.session')).toBeUndefined();
    } finally {
      await context.close();
    }
  });

  it('logout then Back: the private page is not shown again from the back/forward cache', async () => {
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      await logIn(page, 'bob-private');
      expect(await page.textContent('body')).toContain('bob-private');
      await logOut(page);

      // Back, and Back again, towards the profile page: whatever Chromium shows must not be bob's page.
      for (let step = 0; step < 3; step += 1) {
        await page.goBack({ timeout: STEP_MS }).catch(() => undefined);
        await page.waitForLoadState('load', { timeout: STEP_MS }).catch(() => undefined);
        expect(await page.content()).not.toContain('bob-private');
      }
    } finally {
      await context.close();
    }
  });
});

describe.each(PLATFORMS)('in a real browser: an app on 127.0.0.1, its OP on localhost (%s)', (platform) => {
  const responseModes = ['query', 'form_post'] as const;

  describe.each(responseModes)('response_mode=%s', (responseMode) => {
    let op: TestOp;
    let t: TestApp;
    let opPage: Server | undefined;

    beforeAll(async () => {
      const port = await getFreePort();
      const app = `http://127.0.0.1:${port}`;
      op = await startTestOp({ host: 'localhost', clients: [webClient(app)] });
      t = await startTestApp({
        platform,
        port,
        options: {
          issuer: op.issuer,
          clientId: TEST_CLIENT_ID,
          clientSecret: TEST_CLIENT_SECRET,
          authorizationParams: responseMode === 'form_post' ? { response_mode: 'form_post' } : {},
          logout: { frontchannel: true },
        },
      });
    });
    afterAll(async () => {
      await new Promise<void>((resolve) => (opPage ? opPage.close(() => resolve()) : resolve()));
      await t?.close();
      await op?.close();
    });

    /** Starts a login in `page` up to the OP's login form (the app's guarded page, sent to log in). */
    async function startLogin(page: Page, returnTo: string): Promise<void> {
      await page.goto(`${t.baseUrl}/auth/login?returnTo=${encodeURIComponent(returnTo)}`, { timeout: STEP_MS });
      await page.waitForSelector('input[name="login"]', { timeout: STEP_MS });
    }

    async function finishLogin(page: Page, username: string, returnTo: string): Promise<void> {
      await page.fill('input[name="login"]', username, { timeout: STEP_MS });
      await page.click('button[type="submit"]', { timeout: STEP_MS });
      await page.waitForURL(`${t.baseUrl}${returnTo}`, { timeout: STEP_MS });
    }

    async function me(page: Page): Promise<{ status: number; sub?: string }> {
      return page.evaluate(async (url) => {
        const res = await fetch(url, { credentials: 'include' });
        return { status: res.status, sub: res.status === 200 ? ((await res.json()) as { sub: string }).sub : undefined };
      }, `${t.baseUrl}/auth/me`);
    }

    it('logs in across sites; the cookies Chromium stores draw no DevTools cookie issue', async () => {
      const context = await browser.newContext();
      try {
        const page = await context.newPage();
        const cdp = await context.newCDPSession(page);
        const issues: unknown[] = [];
        cdp.on('Audits.issueAdded', (event: { issue: { code: string } }) => {
          if (/cookie/i.test(event.issue.code)) issues.push(event.issue);
        });
        await cdp.send('Audits.enable');
        await startLogin(page, '/profile');
        await finishLogin(page, 'carol', '/profile');
        expect(await me(page)).toEqual({ status: 200, sub: 'carol' });
        const session = (await context.cookies(t.baseUrl)).find((c) => c.name === 'oidc.session');
        expect(session).toMatchObject({ httpOnly: true, sameSite: 'Lax', path: '/' });
        expect(issues).toEqual([]);
      } finally {
        await context.close();
      }
    });

    it('two tabs that complete their logins in reverse order both end logged in, each on its own page', async () => {
      const context = await browser.newContext();
      try {
        const first = await context.newPage();
        const second = await context.newPage();
        await startLogin(first, '/profile/health');
        await startLogin(second, '/profile');
        await finishLogin(second, 'dave', '/profile');
        await finishLogin(first, 'dave', '/profile/health');
        expect(await me(first)).toEqual({ status: 200, sub: 'dave' });
      } finally {
        await context.close();
      }
    });

    it('going back to the callback URL after login is a clean refusal: no second code redemption, the session lives on', async () => {
      const context = await browser.newContext();
      try {
        const page = await context.newPage();
        let callback: { url: string; method: string; body: string | null } | undefined;
        page.on('request', (request) => {
          if (request.url().startsWith(`${t.baseUrl}/auth/callback`))
            callback = { url: request.url(), method: request.method(), body: request.postData() };
        });
        await startLogin(page, '/profile');
        await finishLogin(page, 'erin', '/profile');
        expect(callback).toBeDefined();
        op.clearRequests();
        // The same callback again, as Back/reload would send it (GET for query, the same POST for form_post).
        const replay = await page.evaluate(async ({ url, method, body }) => {
          const res = await fetch(url, {
            method,
            body: body ?? undefined,
            credentials: 'include',
            redirect: 'manual',
            headers: body ? { 'content-type': 'application/x-www-form-urlencoded' } : {},
          });
          return res.type === 'opaqueredirect' ? 302 : res.status;
        }, callback!);
        expect(replay).toBe(400);
        expect(op.count('/token', 'POST')).toBe(0);
        expect(await me(page)).toEqual({ status: 200, sub: 'erin' });
      } finally {
        await context.close();
      }
    });

    it("front-channel logout through a cross-site iframe on the OP's site ends the session", async () => {
      const context = await browser.newContext();
      try {
        const page = await context.newPage();
        await startLogin(page, '/profile');
        await finishLogin(page, 'frank', '/profile');
        const sid = await page.evaluate(
          async (url) => ((await (await fetch(url, { credentials: 'include' })).json()) as { claims: { sid: string } }).claims.sid,
          `${t.baseUrl}/auth/me`,
        );
        // A page on the OP's site (localhost) that embeds the app's front-channel logout URI, as an OP does.
        const frame = `${t.baseUrl}/auth/frontchannel-logout?${new URLSearchParams({ iss: op.issuer, sid })}`;
        opPage = createServer((_req, res) => {
          res.setHeader('content-type', 'text/html');
          res.end(`<!doctype html><title>Signed out</title><iframe id="rp" src="${frame.replace(/&/g, '&amp;')}"></iframe>`);
        });
        const opPagePort = await new Promise<number>((resolve) =>
          opPage!.listen(0, 'localhost', () => resolve((opPage!.address() as AddressInfo).port)),
        );
        const other = await context.newPage();
        const frameLoaded = other.waitForResponse((res) => res.url().startsWith(`${t.baseUrl}/auth/frontchannel-logout`), {
          timeout: STEP_MS,
        });
        await other.goto(`http://localhost:${opPagePort}/`, { timeout: STEP_MS });
        expect((await frameLoaded).status()).toBe(200);
        expect(await me(page)).toEqual({ status: 401, sub: undefined });
      } finally {
        await context.close();
      }
    });
  });
});
