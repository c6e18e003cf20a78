/**
 * OidcGuard and the decorators on GraphQL resolvers (API.md §7.4): Apollo on Express and Mercurius on Fastify, with
 * Bearer tokens from the real OP and real sessions — queries, a mutation, a guarded field resolver; UNAUTHENTICATED
 * and FORBIDDEN as GraphQL errors, never a redirect; one authentication per request for several guarded fields.
 */
import { ApolloDriver, type ApolloDriverConfig } from '@nestjs/apollo';
import { UseGuards, type INestApplication } from '@nestjs/common';
import { Field, GraphQLModule, Mutation, ObjectType, Query, ResolveField, Resolver } from '@nestjs/graphql';
import { MercuriusDriver, type MercuriusDriverConfig } from '@nestjs/mercurius';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import { clientCredentialsGrant } from 'openid-client';
import { jest } from '@jest/globals';
import { AccessToken, CurrentUser, OidcAuthenticator, OidcGuard, OidcModule, Scopes, StepUp, type OidcUser } from '../lib/index.js';
import { sessionCookieFor } from '../lib/testing/index.js';
import { SESSION_SECRET } from './fixtures/app.fixture.js';
import { API_RESOURCE, startTestOp, TEST_CLIENT_ID, TEST_CLIENT_SECRET, webClient, type TestOp } from './fixtures/op.fixture.js';
import { getFreePort } from './fixtures/ports.js';

@ObjectType()
class Viewer {
  @Field(() => String) sub!: string;
  @Field(() => String) authMethod!: string;
  @Field(() => Boolean) hasToken!: boolean;
}

@ObjectType()
class Order {
  @Field(() => String) id!: string;
}

let verifications = 0;

@Resolver(() => Order)
class OrdersResolver {
  @Query(() => Viewer)
  @UseGuards(OidcGuard)
  viewer(@CurrentUser() user: OidcUser, @AccessToken() token: string | undefined): Viewer {
    return { sub: user.sub, authMethod: user.authMethod, hasToken: typeof token === 'string' };
  }

  @Query(() => [Order])
  @UseGuards(OidcGuard)
  @Scopes('orders:write')
  privateOrders(): Order[] {
    return [{ id: 'p1' }];
  }

  @Query(() => [Order])
  @UseGuards(OidcGuard)
  @StepUp({ acr: ['urn:example:loa:2'] })
  vault(): Order[] {
    return [{ id: 'v1' }];
  }

  @Query(() => [Order])
  orders(): Order[] {
    return [{ id: 'o1' }, { id: 'o2' }];
  }

  @Mutation(() => Order)
  @UseGuards(OidcGuard)
  placeOrder(@CurrentUser('sub') sub: string): Order {
    return { id: `new-for-${sub}` };
  }

  @ResolveField(() => String)
  @UseGuards(OidcGuard)
  owner(@CurrentUser() user: OidcUser): string {
    verifications += 1;
    return user.sub;
  }
}

const drivers = [
  ['Apollo', 'express'],
  ['Mercurius', 'fastify'],
] as const;

describe.each(drivers)('GraphQL with %s on %s', (driver, platform) => {
  let op: TestOp;
  let app: INestApplication;
  let url: string;
  let token: string;

  beforeAll(async () => {
    const port = await getFreePort();
    op = await startTestOp({ clients: [webClient(`http://127.0.0.1:${port}`)] });
    const graphql =
      driver === 'Apollo'
        ? GraphQLModule.forRoot<ApolloDriverConfig>({
            driver: ApolloDriver,
            autoSchemaFile: true,
            fieldResolverEnhancers: ['guards'],
            allowBatchedHttpRequests: true,
          })
        : GraphQLModule.forRoot<MercuriusDriverConfig>({
            driver: MercuriusDriver,
            autoSchemaFile: true,
            fieldResolverEnhancers: ['guards'],
            allowBatchedQueries: true,
          });
    const moduleRef = await Test.createTestingModule({
      imports: [
        OidcModule.forRoot({
          issuer: op.issuer,
          clientId: TEST_CLIENT_ID,
          clientSecret: TEST_CLIENT_SECRET,
          baseUrl: `http://127.0.0.1:${port}`,
          session: { secret: SESSION_SECRET },
          bearer: { audience: API_RESOURCE },
        }),
        graphql,
      ],
      providers: [OrdersResolver],
    }).compile();
    app = platform === 'fastify' ? moduleRef.createNestApplication(new FastifyAdapter()) : moduleRef.createNestApplication();
    await app.listen(port, '127.0.0.1');
    url = `http://127.0.0.1:${port}/graphql`;
    const rp = await import('openid-client').then((c) =>
      c.discovery(new URL(op.issuer), TEST_CLIENT_ID, TEST_CLIENT_SECRET, undefined, { execute: [c.allowInsecureRequests] }),
    );
    ({ access_token: token } = await clientCredentialsGrant(rp, { resource: API_RESOURCE, scope: 'api:read' }));
  });

  afterAll(async () => {
    await app?.close();
    await op?.close();
  });

  async function gql(query: string, headers: Record<string, string> = {}) {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/html,application/json', ...headers },
      body: JSON.stringify({ query }),
    });
    return {
      status: res.status,
      headers: res.headers,
      body: (await res.json()) as { data?: Record<string, unknown>; errors?: Array<{ extensions?: Record<string, unknown> }> },
    };
  }

  it('a Bearer token reaches the resolver: @CurrentUser and @AccessToken', async () => {
    const { body } = await gql('{ viewer { sub authMethod hasToken } }', { authorization: `Bearer ${token}` });
    expect(body.errors).toBeUndefined();
    expect(body.data?.viewer).toEqual({ sub: TEST_CLIENT_ID, authMethod: 'bearer', hasToken: true });
  });

  it('a session works too (a mutation)', async () => {
    const cookie = await sessionCookieFor(app, { sub: 'gql-user' });
    const { body } = await gql('mutation { placeOrder { id } }', { cookie });
    expect(body.data?.placeOrder).toEqual({ id: 'new-for-gql-user' });
  });

  it('no credentials: UNAUTHENTICATED, never a redirect (even for a browser-like Accept)', async () => {
    const res = await gql('{ viewer { sub } }');
    expect(res.status).not.toBe(302);
    expect(res.body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
  });

  it('a refused token is UNAUTHENTICATED; a missing scope is FORBIDDEN', async () => {
    expect((await gql('{ viewer { sub } }', { authorization: 'Bearer nope' })).body.errors?.[0]?.extensions).toMatchObject({
      code: 'UNAUTHENTICATED',
      oidcCode: 'ERR_OIDC_INVALID_TOKEN',
    });
    const forbidden = await gql('{ privateOrders { id } }', { authorization: `Bearer ${token}` });
    expect(forbidden.body.errors?.[0]?.extensions).toMatchObject({ code: 'FORBIDDEN', oidcCode: 'ERR_OIDC_INSUFFICIENT_SCOPE' });
    // RFC 9470: a step-up shortfall is FORBIDDEN too, with its challenge on the HTTP response.
    const stepUp = await gql('{ vault { id } }', { authorization: `Bearer ${token}` });
    expect(stepUp.body.errors?.[0]?.extensions).toMatchObject({ code: 'FORBIDDEN', oidcCode: 'ERR_OIDC_INSUFFICIENT_USER_AUTHENTICATION' });
    expect(stepUp.headers.get('www-authenticate')).toContain('error="insufficient_user_authentication"');
  });

  it('a guarded field resolver: per field, one authentication for the whole request', async () => {
    const anonymous = await gql('{ orders { id owner } }');
    expect(anonymous.body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    verifications = 0;
    const resolve = jest.spyOn(app.get(OidcAuthenticator), 'resolve');
    const { body } = await gql('{ orders { id owner } }', { authorization: `Bearer ${token}` });
    expect(resolve).toHaveBeenCalledTimes(1);
    resolve.mockRestore();
    expect(body.data?.orders).toEqual([
      { id: 'o1', owner: TEST_CLIENT_ID },
      { id: 'o2', owner: TEST_CLIENT_ID },
    ]);
    expect(verifications).toBe(2);
  });

  it('a batch of operations in one HTTP request authenticates once', async () => {
    const resolve = jest.spyOn(app.get(OidcAuthenticator), 'resolve');
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify([{ query: '{ viewer { sub } }' }, { query: '{ orders { owner } }' }]),
    });
    const body = (await res.json()) as Array<{ data?: Record<string, unknown> }>;
    expect(body.map((b) => b.data)).toEqual([
      { viewer: { sub: TEST_CLIENT_ID } },
      { orders: [{ owner: TEST_CLIENT_ID }, { owner: TEST_CLIENT_ID }] },
    ]);
    expect(resolve).toHaveBeenCalledTimes(1);
    resolve.mockRestore();
  });
});
