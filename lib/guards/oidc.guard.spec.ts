import { jest } from '@jest/globals';
import { type ExecutionContext, HttpException } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { AccessTokenVerifier } from '../bearer/access-token.verifier.js';
import { AccessTokenClaims } from '../claims/access-token-claims.js';
import { resolveOidcOptions } from '../config/resolve-oidc-options.js';
import { Public } from '../decorators/public.decorator.js';
import { Roles } from '../decorators/roles.decorator.js';
import { Scopes } from '../decorators/scopes.decorator.js';
import { getOidcContext } from '../http/request-context.js';
import type { OidcSessionService } from '../session/oidc-session.service.js';
import type { OidcTokenService } from '../tokens/oidc-token.service.js';
import { OidcGuard } from './oidc.guard.js';
import { OidcAuthenticator } from '../auth/oidc-authenticator.js';

/** One handler, inherited by two controllers whose class-level metadata differs. */
class BaseController {
  @Scopes('orders:read')
  orders(): void {}

  @Roles('admin')
  admin(): void {}
}
@Public()
class PublicController extends BaseController {}
class PrivateController extends BaseController {}

const options = resolveOidcOptions({
  issuer: 'https://op.example.com',
  clientId: 'c',
  baseUrl: 'https://api.example.com',
  session: { secret: 'a'.repeat(32) },
  bearer: { audience: 'api' },
});

function context(controller: object, handler: object, headers: Record<string, string> = {}) {
  const req = {
    method: 'GET',
    url: '/orders',
    headers,
    rawHeaders: Object.entries(headers).flat(),
  };
  const res = {
    headers: {} as Record<string, string>,
    setHeader(name: string, value: string) {
      this.headers[name] = value;
    },
  };
  const ctx = {
    getType: () => 'http',
    switchToHttp: () => ({ getRequest: () => req, getResponse: () => res }),
    getHandler: () => handler,
    getClass: () => controller,
  } as unknown as ExecutionContext;
  return { ctx, req, res };
}

/** `cached`: the verifier answers synchronously, as it does for a token in its cache. */
function setup({ cached = false } = {}) {
  const reflector = new Reflector();
  const reads = jest.spyOn(reflector, 'getAllAndOverride');
  const sessions = { get: async () => undefined } as unknown as OidcSessionService;
  const claims = Object.freeze(
    Object.assign(new AccessTokenClaims(), { iss: options.issuer, sub: 'alice', aud: 'api', exp: 2e9, scope: 'orders:read' }),
  );
  const accessTokens = { verifyShared: cached ? () => claims : async () => claims } as unknown as AccessTokenVerifier;
  const guard = new OidcGuard(reflector, new OidcAuthenticator(options, sessions, {} as OidcTokenService, accessTokens));
  return { guard, reads };
}

async function status(guard: OidcGuard, ctx: ExecutionContext): Promise<number> {
  // canActivate decides a cached bearer token without a promise; a refusal may then be thrown rather than rejected.
  return Promise.resolve()
    .then(() => guard.canActivate(ctx))
    .then(
      () => 200,
      (err: unknown) => (err instanceof HttpException ? err.getStatus() : 500),
    );
}

describe('OidcGuard route metadata', () => {
  const { orders, admin } = BaseController.prototype;

  it('tells apart two controllers sharing a handler (class-level @Public())', async () => {
    const { guard } = setup();
    expect(await status(guard, context(PublicController, orders).ctx)).toBe(200);
    expect(await status(guard, context(PrivateController, orders).ctx)).toBe(401);
    expect(await status(guard, context(PublicController, orders).ctx)).toBe(200);
  });

  it('enforces @Scopes() and @Roles() of the handler on every request', async () => {
    const { guard } = setup();
    const bearer = { authorization: 'Bearer abc.def.ghi' };
    const ok = context(PrivateController, orders, bearer);
    expect(await status(guard, ok.ctx)).toBe(200);
    expect(getOidcContext(ok.req)?.user).toMatchObject({ sub: 'alice', scopes: ['orders:read'] });
    expect(ok.res.headers['cache-control']).toBe('no-store');
    expect(await status(guard, context(PrivateController, admin, bearer).ctx)).toBe(403);
    expect(await status(guard, context(PrivateController, admin, bearer).ctx)).toBe(403);
  });

  it('reads a route’s metadata with the Reflector once, not on every request', async () => {
    const { guard, reads } = setup();
    const bearer = { authorization: 'Bearer abc.def.ghi' };
    await status(guard, context(PrivateController, orders, bearer).ctx);
    const once = reads.mock.calls.length;
    expect(once).toBeGreaterThan(0);
    for (let i = 0; i < 5; i++) await status(guard, context(PrivateController, orders, bearer).ctx);
    expect(reads.mock.calls.length).toBe(once);
    await status(guard, context(PublicController, orders, bearer).ctx);
    expect(reads.mock.calls.length).toBe(once * 2);
  });

  it('refuses an access_token query parameter next to the header (RFC 6750 §2), and a second Authorization header', async () => {
    const { guard } = setup();
    const withQuery = context(PrivateController, orders, { authorization: 'Bearer abc.def.ghi' });
    withQuery.req.url = '/orders?x=1&access%5Ftoken=abc';
    expect(await status(guard, withQuery.ctx)).toBe(400);
    const twice = context(PrivateController, orders, { authorization: 'Bearer abc.def.ghi' });
    twice.req.rawHeaders.push('Authorization', 'Bearer other');
    expect(await status(guard, twice.ctx)).toBe(400);
  });

  it('decides a cached bearer token without a promise: true, or the refusal thrown', () => {
    const { guard } = setup({ cached: true });
    const bearer = { authorization: 'Bearer abc.def.ghi' };
    const ok = context(PrivateController, orders, bearer);
    expect(guard.canActivate(ok.ctx)).toBe(true);
    expect(getOidcContext(ok.req)?.user.sub).toBe('alice');
    expect(ok.res.headers['cache-control']).toBe('no-store');
    let refusal: unknown;
    try {
      guard.canActivate(context(PrivateController, admin, bearer).ctx);
    } catch (err) {
      refusal = err;
    }
    expect(refusal).toBeInstanceOf(HttpException);
    expect((refusal as HttpException).getStatus()).toBe(403);
  });

  it('still calls an authenticate hook that replaces the guard’s own (a spy, instrumentation) for a cached token', async () => {
    const { guard } = setup({ cached: true });
    const hook = jest.spyOn(OidcGuard.prototype as unknown as { authenticate: () => unknown }, 'authenticate');
    try {
      expect(await status(guard, context(PrivateController, orders, { authorization: 'Bearer abc.def.ghi' }).ctx)).toBe(200);
      expect(hook).toHaveBeenCalledTimes(1);
    } finally {
      hook.mockRestore();
    }
  });
});
