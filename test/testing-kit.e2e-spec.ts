import { Controller, Get, UseGuards, type INestApplication } from '@nestjs/common';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import { CurrentUser, OidcGuard, OidcModule, Scopes, type OidcUser } from 'nestjs-oidc';
import { createTestIssuer, sessionCookieFor, type TestIssuer } from 'nestjs-oidc/testing';

@Controller('orders')
@UseGuards(OidcGuard)
class OrdersController {
  @Get()
  @Scopes('orders:read')
  list(@CurrentUser() user: OidcUser) {
    return { owner: user.sub };
  }
}

describe.each(['express', 'fastify'])('orders API (%s)', (platform) => {
  let issuer: TestIssuer;
  let app: INestApplication;
  let url: string;

  beforeAll(async () => {
    issuer = await createTestIssuer({ audience: 'https://api.example.com' });
    const moduleRef = await Test.createTestingModule({
      imports: [
        OidcModule.forRoot({
          issuer: issuer.issuer,
          clientId: 'test-client',
          baseUrl: 'http://127.0.0.1',
          session: { secret: 'a-test-secret-of-at-least-32-characters' },
          bearer: { audience: 'https://api.example.com' },
        }),
      ],
      controllers: [OrdersController],
    }).compile();
    app = platform === 'fastify' ? moduleRef.createNestApplication(new FastifyAdapter()) : moduleRef.createNestApplication();
    await app.listen(0, '127.0.0.1');
    url = `${(await app.getUrl()).replace('[::1]', '127.0.0.1')}/orders`;
  });

  afterAll(async () => {
    await app.close();
    await issuer.close();
  });

  it('accepts a Bearer token with the scope', async () => {
    const token = await issuer.signAccessToken({ sub: 'alice', scope: 'orders:read' });
    const res = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ owner: 'alice' });
  });

  it('refuses a token without the scope (403) and an expired one (401)', async () => {
    const unscoped = await issuer.signAccessToken({ sub: 'alice' });
    expect((await fetch(url, { headers: { authorization: `Bearer ${unscoped}` } })).status).toBe(403);
    const expired = await issuer.signAccessToken({ scope: 'orders:read' }, { expiresIn: -600 });
    expect((await fetch(url, { headers: { authorization: `Bearer ${expired}` } })).status).toBe(401);
  });

  it('accepts a session cookie made for a user, without a browser', async () => {
    const cookie = await sessionCookieFor(app, { sub: 'bob', email: 'bob@example.com' }, { scope: 'openid orders:read' });
    const res = await fetch(url, { headers: { cookie } });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ owner: 'bob' });
  });
});
