/**
 * The OP refusing this client is not the OP being unreachable (RFC 6749 §5.2): a wrong client secret, with
 * either client authentication method, against the real OP, through the real login. The developer sees a
 * 401 and a log line naming the call, the HTTP status and the OP's `error` code — never "could not be reached".
 */
import { Browser } from './fixtures/browser.js';
import { CapturingLogger } from './fixtures/capturing-logger.js';
import { PLATFORMS } from './fixtures/app.fixture.js';
import { loginThroughApp } from './fixtures/login.js';
import { startOpAndApp, type OpAndApp } from './fixtures/op-app.fixture.js';

const WRONG_SECRET = 'not-the-secret-registered-at-the-op-0123456789';

describe.each(PLATFORMS)('the OP refuses the client (%s)', (platform) => {
  describe.each(['client_secret_basic', 'client_secret_post'] as const)('%s with a wrong secret', (clientAuthMethod) => {
    let env: OpAndApp;
    const logger = new CapturingLogger();

    beforeAll(async () => {
      env = await startOpAndApp(platform, { clientSecret: WRONG_SECRET, clientAuthMethod }, { logger });
    });
    afterAll(async () => {
      await env?.close();
    });

    it('the callback answers 401 and the log names the grant, HTTP 401 and invalid_client', async () => {
      const browser = new Browser();
      const res = await loginThroughApp(browser, env.t.baseUrl, 'alice');
      expect(res.status).toBe(401);
      expect(res.headers.get('cache-control')).toContain('no-store');
      expect(browser.cookie(env.t.baseUrl, 'oidc.session')).toBeUndefined();
      const lines = logger.find('warn', 'the authorization code grant', 'HTTP 401', 'invalid_client');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toContain('check clientId, clientSecret and clientAuthMethod');
      expect(lines[0]).not.toContain('could not be reached');
      expect(lines[0]).not.toContain(WRONG_SECRET);
    });
  });
});
