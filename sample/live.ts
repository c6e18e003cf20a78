import type { IncomingMessage } from 'node:http';
import { Controller, Get, Header, UseGuards } from '@nestjs/common';
import { Field, ObjectType, Query, Resolver } from '@nestjs/graphql';
import { type OnGatewayConnection, SubscribeMessage, WebSocketGateway } from '@nestjs/websockets';
import { CurrentUser, OidcGuard, OidcSocketAuth, type OidcUser } from '../lib/index.js';
import { escapeHtml, logoutForm, page } from './html.js';

/** What GraphQL and the gateway tell about the signed-in user. */
@ObjectType()
export class SampleViewer {
  @Field(() => String) sub!: string;
  @Field(() => String) authMethod!: string;
  @Field(() => String, { nullable: true }) email?: string;
}

function viewerOf(user: OidcUser): SampleViewer {
  return { sub: user.sub, authMethod: user.authMethod, email: typeof user.claims.email === 'string' ? user.claims.email : undefined };
}

/** `POST /graphql`: `{ viewer { sub authMethod email } }` — the session or a Bearer token, like every route. */
@Resolver()
export class SampleResolver {
  @Query(() => SampleViewer)
  @UseGuards(OidcGuard)
  viewer(@CurrentUser() user: OidcUser): SampleViewer {
    return viewerOf(user);
  }
}

/** socket.io gateway: `whoami` answers with the user the connection was authenticated as. */
@WebSocketGateway()
export class SampleGateway implements OnGatewayConnection {
  constructor(private readonly socketAuth: OidcSocketAuth) {}

  handleConnection(client: object, request?: IncomingMessage): Promise<unknown> {
    // Refused (no session, another site's Origin): the socket is already disconnected.
    return this.socketAuth.authenticate(client, request).catch(() => undefined);
  }

  @UseGuards(OidcGuard)
  @SubscribeMessage('whoami')
  whoami(@CurrentUser() user: OidcUser) {
    return { event: 'whoami', data: viewerOf(user) };
  }
}

/** The page's script: no inline code, so the page's CSP allows only scripts of this origin. */
const LIVE_SCRIPT = `
const out = (id, value) => { document.getElementById(id).textContent = typeof value === 'string' ? value : JSON.stringify(value, null, 2); };
document.getElementById('ask-graphql').addEventListener('click', async () => {
  const res = await fetch('/graphql', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: '{ viewer { sub authMethod email } }' }) });
  out('graphql', await res.json());
});
document.getElementById('ask-socket').addEventListener('click', () => {
  const socket = io({ transports: ['websocket'] });
  socket.on('whoami', (data) => { out('socket', data); socket.close(); });
  socket.on('exception', (data) => out('socket', data));
  socket.on('disconnect', () => out('socket-state', 'disconnected'));
  socket.on('connect', () => { out('socket-state', 'connected'); socket.emit('whoami', {}); });
});
`;

/** `GET /live`: try GraphQL and the WebSocket gateway from the browser, with the session you are signed in with. */
@Controller()
@UseGuards(OidcGuard)
export class LiveController {
  @Get('live')
  @Header('Content-Type', 'text/html; charset=utf-8')
  @Header('Cache-Control', 'no-store')
  @Header(
    'Content-Security-Policy',
    "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; frame-ancestors 'none'",
  )
  live(@CurrentUser() user: OidcUser): string {
    return page(
      'GraphQL and WebSockets',
      `<h1>GraphQL and WebSockets</h1>
<p>Signed in as <code>${escapeHtml(user.sub)}</code>. Both calls below carry your session cookie: the GraphQL request as any
<code>fetch</code>, the WebSocket handshake from this page's origin (a handshake from another site is refused).</p>
<p><button id="ask-graphql" type="button">Ask GraphQL</button> <code>{ viewer { sub authMethod email } }</code></p>
<pre id="graphql"></pre>
<p><button id="ask-socket" type="button">Ask over a WebSocket</button> socket.io, message <code>whoami</code> <span id="socket-state" class="muted"></span></p>
<pre id="socket"></pre>
<nav><a href="/profile">Back to your profile</a> ${logoutForm()}</nav>
<script src="/socket.io/socket.io.js"></script>
<script src="/live.js"></script>`,
    );
  }

  @Get('live.js')
  @Header('Content-Type', 'text/javascript; charset=utf-8')
  @Header('Cache-Control', 'no-store')
  script(): string {
    return LIVE_SCRIPT;
  }
}
