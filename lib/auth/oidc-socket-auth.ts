import type { IncomingMessage } from 'node:http';
import { Inject, Injectable, Optional, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import type { ResolvedOidcOptions } from '../config/resolve-oidc-options.js';
import { ALL_CREDENTIAL_SOURCES } from '../decorators/auth-methods.decorator.js';
import { OidcError } from '../errors/oidc.error.js';
import { OidcEvents } from '../events/oidc-events.service.js';
import { requestHeader } from '../http/platform.js';
import { setOidcContext, type OidcRequestContext } from '../http/request-context.js';
import { OIDC_CLOCK, OIDC_OPTIONS, type OidcClock } from '../oidc.constants.js';
import { OidcSessionService } from '../session/oidc-session.service.js';
import { OidcAuthenticator } from './oidc-authenticator.js';

/** A connected socket as the module needs it: socket.io's `Socket` or a `ws` WebSocket. */
interface SocketLike {
  /** socket.io: the handshake, with the client's `auth` payload. */
  handshake?: { auth?: Record<string, unknown> };
  /** socket.io: the HTTP request that opened the connection. */
  request?: IncomingMessage;
  /** socket.io */
  disconnect?(close?: boolean): unknown;
  /** ws */
  close?(code?: number, reason?: string): unknown;
  once?(event: string, listener: () => void): unknown;
}

interface SocketAuthentication {
  readonly context: OidcRequestContext;
  readonly timer?: ReturnType<typeof setTimeout>;
}

/** RFC 6455 §7.4.1 1008: "policy violation" — the close code for a refused or ended credential. */
const POLICY_VIOLATION = 1008;

/**
 * WebSocket authentication (API.md §7.4): a socket's handshake is authenticated once — the `Authorization` header,
 * socket.io's `auth.token`, or the session cookie of the upgrade request (then only from the app's own `Origin`:
 * cross-site WebSocket hijacking) — and the user is kept with the socket. Every message re-checks what can change while
 * connected: a token's expiry, a session that ended (logout, back-channel logout); a socket whose credential lapses is
 * disconnected, at once when its token expires or the OP ends its session.
 *
 * socket.io gateways need nothing more than `@UseGuards(OidcGuard)`; with the `ws` adapter the upgrade request reaches
 * only `handleConnection`, so pass it on: `handleConnection(client, request) { return this.socketAuth.authenticate(client, request); }`.
 */
@Injectable()
export class OidcSocketAuth implements OnModuleInit, OnModuleDestroy {
  /** Each socket's handshake authentication, in flight or done: a message arriving meanwhile waits for it. */
  private readonly sockets = new WeakMap<object, Promise<SocketAuthentication>>();
  /** The settled ones, for clean-up. */
  private readonly settled = new WeakMap<object, SocketAuthentication>();
  /** Session sockets by session key, so a back-channel logout can close them. Entries leave on disconnect. */
  private readonly bySession = new Map<string, Set<SocketLike>>();
  private unsubscribe?: () => void;

  constructor(
    private readonly authenticator: OidcAuthenticator,
    private readonly sessions: OidcSessionService,
    @Inject(OIDC_OPTIONS) private readonly options: ResolvedOidcOptions,
    @Inject(OIDC_CLOCK) private readonly clock: OidcClock,
    @Optional() private readonly events?: OidcEvents,
  ) {}

  onModuleInit(): void {
    // Back-Channel Logout §2.7 while connected: the sockets of the ended sessions close now, not at their next message.
    const recheck = () => void this.recheckSessions();
    const off = [this.events?.on('backchannel-logout', recheck), this.events?.on('frontchannel-logout', recheck)];
    this.unsubscribe = () => off.forEach((o) => o?.());
  }

  onModuleDestroy(): void {
    this.unsubscribe?.();
  }

  /**
   * Authenticates a socket's handshake (once); resolves to its user. Refused → the socket is disconnected and the
   * promise rejects with the module's error.
   */
  async authenticate(client: object, request?: IncomingMessage): Promise<OidcRequestContext> {
    let authentication = this.sockets.get(client);
    if (!authentication) {
      authentication = this.authenticateSocket(client as SocketLike, request);
      this.sockets.set(client, authentication);
    }
    return (await authentication).context;
  }

  private async authenticateSocket(socket: SocketLike, request: IncomingMessage | undefined): Promise<SocketAuthentication> {
    try {
      const context = await this.authenticateHandshake(socket, request ?? socket.request);
      const authentication = { context, timer: this.expiryTimer(socket, context) };
      this.settled.set(socket, authentication);
      const sessionId = context.user.authMethod === 'session' ? context.user.sessionId : undefined;
      if (sessionId) this.track(sessionId, socket);
      socket.once?.('disconnect', () => this.forget(socket));
      socket.once?.('close', () => this.forget(socket));
      setOidcContext(socket, context);
      return authentication;
    } catch (err) {
      this.disconnect(socket);
      throw err;
    }
  }

  /**
   * The socket's user for one message: authenticated at the handshake, still valid now (token not expired, session not
   * ended). Otherwise the socket is disconnected and this rejects.
   *
   * @internal
   */
  async contextFor(client: object): Promise<OidcRequestContext> {
    const context = await this.authenticate(client);
    const { user } = context;
    const now = Math.floor(this.clock.now() / 1000);
    let ended = user.expiresAt !== undefined && user.authMethod !== 'session' && user.expiresAt <= now;
    if (!ended && user.authMethod === 'session' && user.sessionId) ended = !(await this.sessions.read(user.sessionId));
    if (ended) {
      // After the exception has been sent to the client (Nest's filter answers the message first).
      setImmediate(() => this.disconnect(client as SocketLike));
      throw new OidcError('ERR_OIDC_SESSION_ENDED', 'The credential of this connection has expired or ended.');
    }
    setOidcContext(client, context);
    return context;
  }

  private async authenticateHandshake(socket: SocketLike, request: IncomingMessage | undefined): Promise<OidcRequestContext> {
    if (!request)
      throw new OidcError(
        'ERR_OIDC_UNAUTHENTICATED',
        'The connection has no handshake request to authenticate: with the ws adapter, call OidcSocketAuth.authenticate(client, request) from handleConnection.',
      );
    const token = socket.handshake?.auth?.token;
    const authorization = requestHeader(request, 'authorization');
    let req: object = request;
    if (authorization === undefined && typeof token === 'string') {
      // socket.io's `auth.token`: a Bearer token sent in the handshake payload rather than a header.
      req = withAuthorization(request, `Bearer ${token}`);
    } else if (authorization === undefined) {
      // Cross-site WebSocket hijacking (RFC 6455 §10.2): a browser sends cookies on a cross-site upgrade; only the app's own
      // pages (their Origin) may use them.
      const origin = requestHeader(request, 'origin');
      if (origin !== this.options.baseUrl.origin) {
        throw new OidcError('ERR_OIDC_UNAUTHENTICATED', 'A session connection must come from this site (Origin).');
      }
    }
    const context = await this.authenticator.resolve(req, undefined, ALL_CREDENTIAL_SOURCES);
    if (!context) throw new OidcError('ERR_OIDC_UNAUTHENTICATED', 'Authentication is required.');
    return context;
  }

  /** A token-authenticated socket closes when its token expires. */
  private expiryTimer(socket: SocketLike, context: OidcRequestContext): ReturnType<typeof setTimeout> | undefined {
    const { expiresAt, authMethod } = context.user;
    if (expiresAt === undefined || authMethod === 'session') return undefined;
    const ms = Math.max(0, expiresAt * 1000 - this.clock.now());
    const timer = setTimeout(() => this.disconnect(socket), Math.min(ms, 2 ** 31 - 1));
    timer.unref();
    return timer;
  }

  private track(sessionId: string, socket: SocketLike): void {
    let sockets = this.bySession.get(sessionId);
    if (!sockets) this.bySession.set(sessionId, (sockets = new Set()));
    sockets.add(socket);
  }

  private async recheckSessions(): Promise<void> {
    for (const [sessionId, sockets] of this.bySession) {
      if (await this.sessions.read(sessionId).catch(() => 'unknown')) continue;
      for (const socket of sockets) this.disconnect(socket);
    }
  }

  private forget(socket: SocketLike): void {
    const known = this.settled.get(socket);
    this.sockets.delete(socket);
    if (!known) return;
    if (known.timer) clearTimeout(known.timer);
    this.settled.delete(socket);
    const sessionId = known.context.user.sessionId;
    if (sessionId) {
      const sockets = this.bySession.get(sessionId);
      sockets?.delete(socket);
      if (sockets?.size === 0) this.bySession.delete(sessionId);
    }
  }

  private disconnect(socket: SocketLike): void {
    this.forget(socket);
    if (typeof socket.disconnect === 'function') socket.disconnect(true);
    else socket.close?.(POLICY_VIOLATION, 'Unauthorized');
  }
}

/** The upgrade request with an `Authorization` header added (socket.io `auth.token`), for the authenticator. */
function withAuthorization(request: IncomingMessage, authorization: string): object {
  return {
    method: request.method,
    url: request.url,
    headers: { ...request.headers, authorization },
    // Only called when the request has no Authorization header: nothing to take out of rawHeaders.
    rawHeaders: [...request.rawHeaders, 'Authorization', authorization],
  };
}
