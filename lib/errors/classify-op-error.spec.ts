import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as client from 'openid-client';
import { AuthorizationResponseError, ClientError, ResponseBodyError } from 'openid-client';
import { classifyOpError, opRefusalOf } from './classify-op-error.js';
import { OidcError, OIDC_ERROR_STATUS } from './oidc.error.js';

/** A ResponseBodyError built the way oauth4webapi builds it (`new ResponseBodyError(msg, { cause: body, response })`). */
function responseBodyError(status: number, body: { error: string; error_description?: string }): ResponseBodyError {
  return new ResponseBodyError('server responded with an error in the response body', {
    cause: body,
    response: new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } }),
  });
}

/** A ClientError built the way openid-client's errorHandler builds it (`new ClientError(msg, { cause, code })`). */
function clientError(message: string, code: string, cause?: unknown): ClientError {
  return new ClientError(message, { cause, code } as ErrorOptions);
}

describe('classifyOpError — constructed openid-client errors', () => {
  it('keeps an OidcError as it is', () => {
    const original = new OidcError('ERR_OIDC_INVALID_TOKEN', 'x');
    expect(classifyOpError(original, 'the token request')).toBe(original);
  });

  it('maps AuthorizationResponseError to ERR_OIDC_AUTHORIZATION_ERROR (401)', () => {
    const err = new AuthorizationResponseError('authorization response from the server is an error', {
      cause: new URLSearchParams({ error: 'access_denied', error_description: 'User said no', state: 'xyz' }),
    });
    const out = classifyOpError(err, 'the authorization request');
    expect(out).toBeInstanceOf(OidcError);
    expect(out.code).toBe('ERR_OIDC_AUTHORIZATION_ERROR');
    expect(OIDC_ERROR_STATUS[out.code]).toBe(401);
    expect(out.message).toContain('access_denied');
    expect(out.cause).toBe(err);
  });

  it('maps a 400 ResponseBodyError to ERR_OIDC_GRANT_REFUSED (401)', () => {
    const err = responseBodyError(400, { error: 'invalid_grant', error_description: 'refresh token revoked' });
    const out = classifyOpError(err, 'the refresh');
    expect(out.code).toBe('ERR_OIDC_GRANT_REFUSED');
    expect(out.message).toContain('invalid_grant');
    expect(out.cause).toBe(err);
  });

  it('maps a 401 ResponseBodyError (invalid_client) to ERR_OIDC_GRANT_REFUSED', () => {
    expect(classifyOpError(responseBodyError(401, { error: 'invalid_client' }), 'the token request').code).toBe('ERR_OIDC_GRANT_REFUSED');
  });

  it('maps a 500 ResponseBodyError to ERR_OIDC_OP_UNAVAILABLE (502)', () => {
    const out = classifyOpError(responseBodyError(500, { error: 'server_error' }), 'the token request');
    expect(out.code).toBe('ERR_OIDC_OP_UNAVAILABLE');
    expect(OIDC_ERROR_STATUS[out.code]).toBe(502);
    expect(out.message).toContain('500');
  });

  it("does not put the OP's error_description in the message", () => {
    const out = classifyOpError(
      responseBodyError(400, { error: 'invalid_grant', error_description: '<script>alert(1)</script>' }),
      'the refresh',
    );
    expect(out.message).not.toContain('<script>');
  });

  it('maps ClientError OAUTH_TIMEOUT to ERR_OIDC_OP_TIMEOUT (504)', () => {
    const cause = new DOMException('The operation was aborted due to timeout', 'TimeoutError');
    const out = classifyOpError(clientError('operation timed out', 'OAUTH_TIMEOUT', cause), 'discovery');
    expect(out.code).toBe('ERR_OIDC_OP_TIMEOUT');
    expect(OIDC_ERROR_STATUS[out.code]).toBe(504);
  });

  it('maps ClientError OAUTH_ABORT to ERR_OIDC_OP_TIMEOUT', () => {
    expect(classifyOpError(clientError('operation aborted', 'OAUTH_ABORT'), 'discovery').code).toBe('ERR_OIDC_OP_TIMEOUT');
  });

  it('maps ClientError OAUTH_RESPONSE_IS_NOT_JSON to ERR_OIDC_OP_UNAVAILABLE', () => {
    const out = classifyOpError(clientError('unexpected response content-type', 'OAUTH_RESPONSE_IS_NOT_JSON'), 'discovery');
    expect(out.code).toBe('ERR_OIDC_OP_UNAVAILABLE');
  });

  it('maps ClientError OAUTH_RESPONSE_IS_NOT_CONFORM to ERR_OIDC_OP_UNAVAILABLE', () => {
    expect(classifyOpError(clientError('unexpected HTTP response status code', 'OAUTH_RESPONSE_IS_NOT_CONFORM'), 'x').code).toBe(
      'ERR_OIDC_OP_UNAVAILABLE',
    );
  });

  it('maps an OAUTH_INVALID_RESPONSE whose body is not a JSON object (a userinfo array, LF-25 b) to ERR_OIDC_INVALID_RESPONSE', () => {
    const ope = Object.assign(new Error('"response" body must be a top level object'), { cause: { body: ['not', 'an', 'object'] } });
    expect(classifyOpError(clientError('invalid response encountered', 'OAUTH_INVALID_RESPONSE', ope), 'x').code).toBe(
      'ERR_OIDC_INVALID_RESPONSE',
    );
  });

  it('returns the OidcError a response check raised inside the fetch, unwrapped from the code-less ClientError', () => {
    const inner = new OidcError('ERR_OIDC_OP_UNAVAILABLE', 'not a JSON object');
    expect(classifyOpError(new ClientError('something went wrong', { cause: inner }), 'x')).toBe(inner);
  });

  it('maps any other ClientError (a failed validation) to ERR_OIDC_INVALID_RESPONSE', () => {
    expect(classifyOpError(clientError('unexpected JWT claim value encountered', 'OAUTH_JWT_CLAIM_COMPARISON'), 'x').code).toBe(
      'ERR_OIDC_INVALID_RESPONSE',
    );
    const ope = Object.assign(new Error('"response" body "access_token" property must be a string'), {
      cause: { body: { access_token: 1 } },
    });
    expect(classifyOpError(clientError('invalid response encountered', 'OAUTH_INVALID_RESPONSE', ope), 'x').code).toBe(
      'ERR_OIDC_INVALID_RESPONSE',
    );
  });

  it('maps a TypeError("fetch failed") to ERR_OIDC_OP_UNAVAILABLE', () => {
    const err = new TypeError('fetch failed', { cause: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }) });
    const out = classifyOpError(err, 'discovery');
    expect(out.code).toBe('ERR_OIDC_OP_UNAVAILABLE');
    expect(out.cause).toBe(err);
  });

  it('maps a code-less ClientError wrapping a fetch TypeError (openid-client\'s "something went wrong") to ERR_OIDC_OP_UNAVAILABLE', () => {
    // openid-client's errorHandler ends in `throw new ClientError('something went wrong', { cause: err })` for
    // anything it does not recognise — e.g. a fetch TypeError from another realm. It is a transport failure,
    // not a response that failed validation.
    const err = new ClientError('something went wrong', { cause: new TypeError('fetch failed') });
    expect(classifyOpError(err, 'discovery').code).toBe('ERR_OIDC_OP_UNAVAILABLE');
  });

  it('maps a bare TimeoutError DOMException to ERR_OIDC_OP_TIMEOUT', () => {
    expect(classifyOpError(new DOMException('timed out', 'TimeoutError'), 'x').code).toBe('ERR_OIDC_OP_TIMEOUT');
  });

  it('names the step in the message', () => {
    expect(classifyOpError(new TypeError('fetch failed'), 'the userinfo request').message).toContain('the userinfo request');
  });
});

describe('classifyOpError — errors openid-client really throws against a local server', () => {
  let server: Server;
  let base: string;
  let closedPortUrl: string;

  beforeAll(async () => {
    server = createServer((req, res) => {
      switch (req.url) {
        case '/refused/token':
          res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'invalid_grant' }));
          return;
        case '/broken/token':
          res.writeHead(500, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'server_error' }));
          return;
        case '/html/token':
        case '/html/.well-known/openid-configuration':
          res.writeHead(200, { 'content-type': 'text/html' }).end('<html>login</html>');
          return;
        case '/hang/token':
          return; // never answers
        default:
          res.writeHead(404).end();
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    closedPortUrl = `http://127.0.0.1:${(closed.address() as AddressInfo).port}`;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  function config(path: string): client.Configuration {
    const issuer = `${base}/${path}`;
    const c = new client.Configuration({ issuer, token_endpoint: `${issuer}/token` }, 'client-1', 'secret-1');
    client.allowInsecureRequests(c);
    c.timeout = 1;
    return c;
  }

  async function rejectionOf(p: Promise<unknown>): Promise<unknown> {
    return p.then(
      () => {
        throw new Error('expected a rejection');
      },
      (e: unknown) => e,
    );
  }

  it('an error in the authorization response → ERR_OIDC_AUTHORIZATION_ERROR', async () => {
    const err = await rejectionOf(
      client.authorizationCodeGrant(config('refused'), new URL('http://127.0.0.1/cb?error=access_denied&state=xyz'), {
        expectedState: 'xyz',
        pkceCodeVerifier: client.randomPKCECodeVerifier(),
      }),
    );
    expect(err).toBeInstanceOf(AuthorizationResponseError);
    expect(classifyOpError(err, 'the callback').code).toBe('ERR_OIDC_AUTHORIZATION_ERROR');
  });

  it('a 400 invalid_grant from the token endpoint → ERR_OIDC_GRANT_REFUSED', async () => {
    const err = await rejectionOf(client.refreshTokenGrant(config('refused'), 'rt'));
    expect(err).toBeInstanceOf(ResponseBodyError);
    expect(classifyOpError(err, 'the refresh').code).toBe('ERR_OIDC_GRANT_REFUSED');
  });

  it('a 500 server_error from the token endpoint → ERR_OIDC_OP_UNAVAILABLE', async () => {
    const err = await rejectionOf(client.refreshTokenGrant(config('broken'), 'rt'));
    expect(classifyOpError(err, 'the refresh').code).toBe('ERR_OIDC_OP_UNAVAILABLE');
  });

  it('an HTML discovery document → ERR_OIDC_OP_UNAVAILABLE', async () => {
    const err = await rejectionOf(
      client.discovery(new URL(`${base}/html`), 'client-1', undefined, undefined, { execute: [client.allowInsecureRequests] }),
    );
    expect(err).toBeInstanceOf(ClientError);
    expect((err as ClientError).code).toBe('OAUTH_RESPONSE_IS_NOT_JSON');
    expect(classifyOpError(err, 'discovery').code).toBe('ERR_OIDC_OP_UNAVAILABLE');
  });

  it('an HTML token response → ERR_OIDC_OP_UNAVAILABLE', async () => {
    const err = await rejectionOf(client.refreshTokenGrant(config('html'), 'rt'));
    expect(classifyOpError(err, 'the refresh').code).toBe('ERR_OIDC_OP_UNAVAILABLE');
  });

  it('an OP that does not answer within the timeout → ERR_OIDC_OP_TIMEOUT', async () => {
    const err = await rejectionOf(client.refreshTokenGrant(config('hang'), 'rt'));
    expect(err).toBeInstanceOf(ClientError);
    expect((err as ClientError).code).toBe('OAUTH_TIMEOUT');
    expect(classifyOpError(err, 'the refresh').code).toBe('ERR_OIDC_OP_TIMEOUT');
  });

  it('a refused connection → ERR_OIDC_OP_UNAVAILABLE', async () => {
    const err = await rejectionOf(
      client.discovery(new URL(closedPortUrl), 'client-1', undefined, undefined, { execute: [client.allowInsecureRequests] }),
    );
    // Plain Node: fetch's TypeError passes through openid-client. Under Jest's vm realm the TypeError is
    // foreign, fails openid-client's `instanceof TypeError`, and arrives wrapped in a code-less ClientError.
    expect(err instanceof TypeError || (err instanceof ClientError && err.code === undefined)).toBe(true);
    expect(classifyOpError(err, 'discovery').code).toBe('ERR_OIDC_OP_UNAVAILABLE');
  });
});

describe('classifyOpError — the OP refused the client (RFC 6749 §5.2)', () => {
  function challengeError(status: number, wwwAuthenticate: string): client.WWWAuthenticateChallengeError {
    const response = new Response(JSON.stringify({ error: 'invalid_client' }), {
      status,
      headers: { 'content-type': 'application/json', 'www-authenticate': wwwAuthenticate },
    });
    const challenges = [
      {
        scheme: wwwAuthenticate.split(' ')[0]!.toLowerCase(),
        parameters: Object.fromEntries([...wwwAuthenticate.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]])),
      },
    ];
    return new client.WWWAuthenticateChallengeError('server responded with a challenge in the WWW-Authenticate HTTP Header', {
      cause: challenges,
      response,
    } as never);
  }

  it('401 + WWW-Authenticate (no error parameter) is the OP refusing the client: invalid_client, 401, not "unreachable"', () => {
    const out = classifyOpError(challengeError(401, 'Basic realm="op"'), 'the authorization code grant');
    expect(out.code).toBe('ERR_OIDC_GRANT_REFUSED');
    expect(OIDC_ERROR_STATUS[out.code]).toBe(401);
    expect(out.message).toContain('HTTP 401');
    expect(out.message).toContain('"invalid_client"');
    expect(out.message).toContain('check clientId, clientSecret and clientAuthMethod');
    expect(out.message).not.toContain('could not be reached');
    expect(opRefusalOf(out)).toEqual({ status: 401, error: 'invalid_client' });
  });

  it('takes the error code from the challenge when it names one (RFC 6750 §3, userinfo)', () => {
    const out = classifyOpError(challengeError(401, 'Bearer realm="op", error="invalid_token"'), 'the userinfo request');
    expect(opRefusalOf(out)).toEqual({ status: 401, error: 'invalid_token' });
  });

  it('401 invalid_client without a challenge is the same refusal', () => {
    const out = classifyOpError(responseBodyError(401, { error: 'invalid_client' }), 'the token request');
    expect(out.code).toBe('ERR_OIDC_GRANT_REFUSED');
    expect(opRefusalOf(out)).toEqual({ status: 401, error: 'invalid_client' });
  });

  it("strips control characters from the OP's error code before it reaches a message or a log", () => {
    const out = classifyOpError(responseBodyError(400, { error: 'invalid_grant\n[Nest] forged line' }), 'the refresh');
    expect(out.message).not.toContain('\n');
    expect(opRefusalOf(out)?.error).toBe('invalid_grant [Nest] forged line');
  });
});
