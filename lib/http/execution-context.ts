import type { ExecutionContext } from '@nestjs/common';
import type { PlatformRequest, PlatformResponse } from './platform.js';

/** The HTTP request (and response, where there is one) behind a Nest execution context, and its transport. */
export interface TransportRequest {
  readonly transport: 'http' | 'graphql' | 'ws';
  readonly req: PlatformRequest;
  readonly res: PlatformResponse | undefined;
}

/**
 * The request of an HTTP route or a GraphQL resolver (API.md §7.4). GraphQL drivers put it in the resolver's context
 * (the third resolver argument): Apollo `{ req }` (Express links `req.res`), Mercurius `{ reply }` with
 * `reply.request`; a context of the app's own with `req`/`res` or `request`/`reply` works too. For a WebSocket message,
 * the socket. Undefined for other transports (RPC), which this guard does not serve.
 */
export function transportRequestOf(context: ExecutionContext): TransportRequest | undefined {
  const type = context.getType<string>();
  if (type === 'http') {
    const http = context.switchToHttp();
    return { transport: 'http', req: http.getRequest<PlatformRequest>(), res: http.getResponse<PlatformResponse>() };
  }
  // WebSockets: the connected socket stands for the request (its user is kept with it, see OidcSocketAuth).
  if (type === 'ws') return { transport: 'ws', req: context.switchToWs().getClient<PlatformRequest>(), res: undefined };
  if (type !== 'graphql') return undefined;
  const gql = context.getArgByIndex<Record<string, unknown> | undefined>(2);
  const reply = gql?.reply as { request?: unknown } | undefined;
  const req = (gql?.req ?? gql?.request ?? reply?.request) as PlatformRequest | undefined;
  if (req === undefined || req === null) return undefined;
  // Apollo on Express puts only `req` in its default context; Express links the response to it (`req.res`).
  const res = gql?.res ?? gql?.reply ?? (req as { res?: unknown }).res;
  return { transport: 'graphql', req, res: res as PlatformResponse | undefined };
}
