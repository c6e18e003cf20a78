/**
 * WebSocket gateways (API.md §7.4) with the socket.io and the `ws` adapters: the handshake is authenticated once
 * (Authorization header, socket.io `auth.token`, or the session cookie from the app's own Origin), @CurrentUser works
 * in message handlers, and a refused, expired or ended credential is a WsException('Unauthorized') and a disconnect.
 */
import type { INestApplication, OnModuleDestroy } from '@nestjs/common';
import { UseGuards } from '@nestjs/common';
import { IoAdapter } from '@nestjs/platform-socket.io';
import { WsAdapter } from '@nestjs/platform-ws';
import { Test } from '@nestjs/testing';
import { type OnGatewayConnection, SubscribeMessage, WebSocketGateway } from '@nestjs/websockets';
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { io, type Socket } from 'socket.io-client';
import WebSocket from 'ws';
import { CurrentUser, OidcGuard, OidcModule, OidcSessionService, OidcSocketAuth, type OidcUser } from '../lib/index.js';
import { OIDC_CLOCK } from '../lib/oidc.constants.js';
import { createTestIssuer, sessionCookieFor, type TestIssuer } from '../lib/testing/index.js';
import { MutableClock, SESSION_SECRET } from './fixtures/app.fixture.js';
import { getFreePort } from './fixtures/ports.js';

const AUDIENCE = 'https://api.sockets.test';
/** Who the message handler answered, in order: a refused socket's message must never show up here. */
const handled: string[] = [];

@WebSocketGateway()
class WhoAmIGateway implements OnGatewayConnection {
  constructor(private readonly socketAuth: OidcSocketAuth) {}

  /** The `ws` adapter hands the upgrade request to handleConnection only; socket.io finds it on the socket too. */
  async handleConnection(client: object, request?: IncomingMessage): Promise<void> {
    await this.socketAuth.authenticate(client, request).catch(() => undefined);
  }

  @UseGuards(OidcGuard)
  @SubscribeMessage('whoami')
  whoami(@CurrentUser() user: OidcUser) {
    handled.push(user.sub);
    return { event: 'whoami', data: `${user.sub} (${user.authMethod})` };
  }
}

/** One client API over both adapters: connect, ask, and watch for exception / disconnect. */
interface TestClient extends OnModuleDestroy {
  connected: Promise<boolean>;
  ask(): Promise<string | false>;
  closed: Promise<void>;
}

function socketIoClient(url: string, opts: { token?: string; headers?: Record<string, string> }): TestClient {
  const socket: Socket = io(url, {
    transports: ['websocket'],
    auth: opts.token ? { token: opts.token } : {},
    extraHeaders: opts.headers,
    reconnection: false,
  });
  const closed = new Promise<void>((resolve) => socket.on('disconnect', () => resolve()));
  const connected = new Promise<boolean>((resolve) => {
    socket.on('connect', () => resolve(true));
    socket.on('connect_error', () => resolve(false));
  });
  return {
    connected,
    ask: async () =>
      (await connected) &&
      new Promise<string>((resolve) => {
        socket.once('whoami', (data: string) => resolve(data));
        socket.once('exception', (payload: { message: string }) => resolve(`exception:${payload.message}`));
        socket.emit('whoami', {});
      }),
    closed,
    onModuleDestroy: () => void socket.close(),
  };
}

function wsClient(url: string, opts: { token?: string; headers?: Record<string, string> }): TestClient {
  const headers = { ...opts.headers, ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}) };
  const ws = new WebSocket(url, { headers });
  const closed = new Promise<void>((resolve) => ws.on('close', () => resolve()));
  const connected = new Promise<boolean>((resolve) => {
    ws.on('open', () => resolve(true));
    ws.on('error', () => resolve(false));
  });
  return {
    connected,
    ask: async () =>
      (await connected) &&
      new Promise<string>((resolve) => {
        ws.once('message', (raw) => {
          const { event, data } = JSON.parse(String(raw)) as { event: string; data: unknown };
          resolve(event === 'exception' ? `exception:${(data as { message: string }).message}` : String(data));
        });
        ws.send(JSON.stringify({ event: 'whoami', data: {} }));
      }),
    closed,
    onModuleDestroy: () => ws.close(),
  };
}

const adapters = [
  ['socket.io', (app: INestApplication) => new IoAdapter(app), socketIoClient, (port: number) => `http://127.0.0.1:${port}`],
  ['ws', (app: INestApplication) => new WsAdapter(app), wsClient, (port: number) => `ws://127.0.0.1:${port}`],
] as const;

describe.each(adapters)('WebSocket gateway over %s', (_name, adapter, connect, urlOf) => {
  let issuer: TestIssuer;
  let app: INestApplication;
  let url: string;
  let baseUrl: string;
  const clock = new MutableClock();
  const clients: TestClient[] = [];
  const client = (opts: { token?: string; headers?: Record<string, string> }) => {
    const c = connect(url, opts);
    clients.push(c);
    return c;
  };

  beforeAll(async () => {
    issuer = await createTestIssuer({ audience: AUDIENCE });
    const port = await getFreePort();
    baseUrl = `http://127.0.0.1:${port}`;
    const moduleRef = await Test.createTestingModule({
      imports: [
        OidcModule.forRoot({
          issuer: issuer.issuer,
          clientId: 'test-client',
          baseUrl,
          session: { secret: SESSION_SECRET },
          bearer: { audience: AUDIENCE },
        }),
      ],
      providers: [WhoAmIGateway],
    })
      .overrideProvider(OIDC_CLOCK)
      .useValue(clock)
      .compile();
    app = moduleRef.createNestApplication();
    app.useWebSocketAdapter(adapter(app));
    await app.listen(port, '127.0.0.1');
    url = urlOf(port);
  });

  afterEach(() => {
    for (const c of clients.splice(0)) c.onModuleDestroy();
  });

  afterAll(async () => {
    await app?.close();
    await issuer?.close();
  });

  it('a Bearer token in the handshake: the handler sees the user', async () => {
    const c = client({ token: await issuer.signAccessToken({ sub: 'alice' }) });
    expect(await c.connected).toBe(true);
    expect(await c.ask()).toBe('alice (bearer)');
    expect(await c.ask()).toBe('alice (bearer)');
  });

  it('no credential: disconnected; a message never reaches the handler', async () => {
    const before = handled.length;
    const c = client({});
    void c.ask().catch(() => undefined);
    await c.closed;
    expect(handled.length).toBe(before);
  });

  it("a session cookie from the app's own Origin works; from another site it is refused (cross-site WebSocket hijacking)", async () => {
    const cookie = await sessionCookieFor(app, { sub: 'bob' });
    const before = handled.length;
    const own = client({ headers: { cookie, origin: baseUrl } });
    expect(await own.connected).toBe(true);
    expect(await own.ask()).toBe('bob (session)');
    const foreign = client({ headers: { cookie, origin: 'https://evil.example' } });
    void foreign.ask().catch(() => undefined);
    await foreign.closed;
    expect(handled.slice(before)).toEqual(['bob']);
  });

  it('an expired token: WsException Unauthorized at the next message, and the socket is closed', async () => {
    const c = client({ token: await issuer.signAccessToken({ sub: 'carol' }, { expiresIn: 60 }) });
    expect(await c.ask()).toBe('carol (bearer)');
    clock.advance(120);
    try {
      expect(await c.ask()).toBe('exception:Unauthorized');
      await c.closed;
    } finally {
      clock.advance(-120);
    }
  });

  it('a session ended by a back-channel logout while connected: the socket is closed at once', async () => {
    const cookie = await sessionCookieFor(app, { sub: 'dave', sid: 'dave-sid' });
    const c = client({ headers: { cookie, origin: baseUrl } });
    expect(await c.ask()).toBe('dave (session)');
    // The OP's logout token (Back-Channel Logout 1.0 §2.4), posted to the module's own route as the OP would.
    const logoutToken = await issuer.signIdToken(
      { sub: 'dave', sid: 'dave-sid', jti: randomUUID(), events: { 'http://schemas.openid.net/event/backchannel-logout': {} } },
      { header: { typ: 'logout+jwt' } },
    );
    const res = await fetch(`${baseUrl}/auth/backchannel-logout`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ logout_token: logoutToken }),
    });
    expect(res.status).toBe(200);
    await c.closed;
    expect(await app.get(OidcSessionService).endSessions({ iss: issuer.issuer, sid: 'dave-sid' })).toBe(0);
  });
});
