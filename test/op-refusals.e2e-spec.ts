/**
 * The OP refusing this client is not the OP being unreachable (RFC 6749 §5.2): a wrong client secret, with
 * either client authentication method, against the real OP, through the real login. The developer sees a
 * 401 and a log line naming the call, the HTTP status and the OP's `error` code — never "could not be reached".
 */
import { Browser } from './fixtures/browser.js';
import { PLATFORMS } from './fixtures/app.fixture.js';
import { loginThroughApp } from './fixtures/login.js';
import { useOpAndApp } from './fixtures/op-app.fixture.js';

const WRONG_SECRET = 'not-the-secret-registered-at-the-op-0123456789';

describe.each(PLATFORMS)('the OP refuses the client (%s)', (platform) => {
  describe.each(['client_secret_basic', 'client_secret_post'] as const)('%s with a wrong secret', (clientAuthMethod) => {
    const suite = useOpAndApp(platform, { clientSecret: WRONG_SECRET, clientAuthMethod });
    const { logger } = suite;

    it('the callback answers 401 and the log names the grant, HTTP 401 and invalid_client', async () => {
      const browser = new Browser();
      const res = await loginThroughApp(browser, suite.env.t.baseUrl, 'alice');
      expect(res.status).toBe(401);
      expect(res.headers.get('cache-control')).toContain('no-store');
      expect(browser.cookie(suite.env.t.baseUrl, 'oidc.session')).toBeUndefined();
      const lines = logger.find('warn', 'the authorization code grant', 'HTTP 401', 'invalid_client');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toContain('check clientId, clientSecret and clientAuthMethod');
      expect(lines[0]).not.toContain('could not be reached');
      expect(lines[0]).not.toContain(WRONG_SECRET);
    });
  });
});

describe.each(PLATFORMS)('a callback on another host than baseUrl (%s)', (platform) => {
  const suite = useOpAndApp(platform);
  const { logger } = suite;

  it('says "you opened http://localhost:<port> but baseUrl is http://127.0.0.1:<port>" (cookies are per host)', async () => {
    const { request } = await import('node:http');
    const port = suite.env.t.port;
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(
        { host: '127.0.0.1', port, path: '/auth/callback?state=abc&code=xyz', headers: { host: `localhost:${port}` } },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on('error', reject);
      req.end();
    });
    expect(status).toBe(400);
    expect(logger.find('warn', `you opened http://localhost:${port} but baseUrl is http://127.0.0.1:${port}`)).toHaveLength(1);
  });
});

describe.each(PLATFORMS)('the OP refusing the logout comes back with an error (%s)', (platform) => {
  const suite = useOpAndApp(platform);
  const { logger } = suite;

  it('logs the registered error code and names the exact post_logout_redirect_uri to register', async () => {
    const res = await fetch(`${suite.env.t.baseUrl}/auth/logout/callback?error=invalid_request&state=x`, { redirect: 'manual' });
    expect(res.status).toBe(200);
    expect(
      logger.find('warn', 'answered the logout with "invalid_request"', `"${suite.env.t.baseUrl}/auth/logout/callback"`, 'trailing slash'),
    ).toHaveLength(1);
  });

  it('never repeats an unregistered error text', async () => {
    logger.clear();
    await fetch(`${suite.env.t.baseUrl}/auth/logout/callback?error=${encodeURIComponent('x\n[Nest] forged')}`, { redirect: 'manual' });
    expect(logger.lines.join('\n')).not.toContain('forged');
    expect(logger.find('warn', 'an unregistered error code')).toHaveLength(1);
  });
});
