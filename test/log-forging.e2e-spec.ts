/**
 * Log forging and echoed input (CWE-117; RFC 6749 §4.1.2.1). Anyone can start a login of their own and then
 * send the callback whatever `error` they like: that text must never start a line of its own in the app's log,
 * never land there whole, and never appear on the error page — only a registered OAuth error code does.
 */
import { PLATFORMS } from './fixtures/app.fixture.js';
import { useOpAndApp } from './fixtures/op-app.fixture.js';

const FORGED_LINE = '[Nest] 4242  - 12/05/2026, 1:00:00 AM     LOG [OidcLogin] Login of subject admin completed.';

describe.each(PLATFORMS)('log forging through the callback (%s)', (platform) => {
  const suite = useOpAndApp(platform);
  const { logger } = suite;
  beforeEach(() => logger.clear());

  /** The attacker's own login: a real transaction cookie and its state, then a callback of their making. */
  async function forgedCallback(error: string): Promise<{ status: number; body: string }> {
    const start = await fetch(`${suite.env.t.baseUrl}/auth/login`, { redirect: 'manual' });
    const state = new URL(start.headers.get('location')!).searchParams.get('state')!;
    const cookie = start.headers
      .getSetCookie()
      .map((c) => c.split(';')[0])
      .join('; ');
    const query = new URLSearchParams({ state, iss: suite.env.op.issuer, error, error_description: `${'x'.repeat(3000)}\n${FORGED_LINE}` });
    const res = await fetch(`${suite.env.t.baseUrl}/auth/callback?${query}`, {
      headers: { cookie, accept: 'text/html' },
      redirect: 'manual',
    });
    return { status: res.status, body: await res.text() };
  }

  it('log forging: error=access_denied%0A[Nest] … does not forge a log line, and the page shows only "access_denied"', async () => {
    const { status, body } = await forgedCallback(`access_denied\n${FORGED_LINE}${'y'.repeat(3000)}`);
    expect(status).toBe(401);
    const all = logger.lines.join('\n');
    expect(logger.lines.length).toBeGreaterThan(0);
    for (const line of logger.lines) expect(line).not.toMatch(/[\r\n\u2028\u2029]/);
    expect(all).not.toContain('Login of subject admin');
    expect(all).not.toContain('yyyyyyyy');
    expect(body).not.toContain('Login of subject admin');
    expect(body).not.toContain('[Nest]');
    expect(body).not.toContain('xxxxxxxx');
    expect(body).toContain('ERR_OIDC_AUTHORIZATION_ERROR');
  });

  it('log forging: a registered code is named on the page and in the log', async () => {
    const { status, body } = await forgedCallback('access_denied');
    expect(status).toBe(401);
    expect(body).toContain('access_denied');
    expect(logger.find('warn', 'callback failed', 'access_denied')).toHaveLength(1);
  });

  it('log forging: any other error text is never repeated, on the page or in the log', async () => {
    const { status, body } = await forgedCallback('<img src=x onerror=alert(1)>pwned');
    expect(status).toBe(401);
    expect(body).not.toContain('pwned');
    expect(body).toContain('not a registered OAuth one');
    expect(logger.lines.join('\n')).not.toContain('pwned');
  });
});
