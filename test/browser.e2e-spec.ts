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
import { chromium, type Browser as Chromium, type Page } from 'playwright-core';
import { PLATFORMS } from './fixtures/app.fixture.js';
import type { TestOp } from './fixtures/op.fixture.js';
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
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
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
