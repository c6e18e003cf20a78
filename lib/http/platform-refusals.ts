import type { IncomingMessage, ServerResponse } from 'node:http';
import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { ResolvedOidcOptions } from '../config/resolve-oidc-options.js';
import { OIDC_OPTIONS } from '../oidc.constants.js';
import { MAX_FORM_BODY, RAW_BODY } from './platform.js';

interface FastifyLike {
  addHook(
    name: 'onSend',
    hook: (
      request: { method: string; url: string },
      reply: {
        statusCode: number;
        getHeader(name: string): unknown;
        header(name: string, value: string): unknown;
        code(status: number): unknown;
      },
      payload: unknown,
      done: (err: Error | null, payload?: unknown) => void,
    ) => void,
  ): unknown;
}

type Next = (err?: unknown) => void;

interface ExpressLike {
  use(
    handler:
      | ((req: IncomingMessage, res: ServerResponse, next: Next) => void)
      | ((err: unknown, req: IncomingMessage, res: ServerResponse, next: Next) => void),
  ): unknown;
  router?: { stack?: unknown[] };
}

function isFastify(instance: unknown): instance is FastifyLike {
  return (
    typeof (instance as { addHook?: unknown } | undefined)?.addHook === 'function' &&
    typeof (instance as { addContentTypeParser?: unknown }).addContentTypeParser === 'function'
  );
}

function isExpress(instance: unknown): instance is ExpressLike {
  return (
    typeof (instance as { use?: unknown } | undefined)?.use === 'function' &&
    typeof (instance as { set?: unknown }).set === 'function' &&
    !isFastify(instance)
  );
}

const REFUSAL_BODY = JSON.stringify({
  error: 'invalid_request',
  error_description: 'Expected an application/x-www-form-urlencoded body with one logout_token.',
});

/**
 * Back-Channel Logout 1.0 §2.5 / §2.8: the route reads exactly one form field named `logout_token`, and every
 * refusal on it is `400 { "error": "invalid_request" }` with `Cache-Control: no-store` (the platform's 413 for
 * a body over its size limit is the one exception). What the platforms do before the route runs is brought
 * to that rule here, for that one route only:
 *
 * - Express: its body parser (`qs`, bracket syntax) renames fields — `[logout_token]=x` arrives as
 *   `logout_token` — and answers a bad charset, encoding or JSON body itself (415/400, Nest's JSON, no
 *   `no-store`). A reader placed ahead of it keeps the raw body for the module's own form parser (the body
 *   parsers then skip the consumed request); should a parser still fail first, an error handler answers.
 * - Fastify: a body it refuses before the route runs (a missing or unsupported `Content-Type`: 415; a
 *   `__proto__` member: 400) gets the documented answer instead of the platform's.
 */
@Injectable()
export class OidcPlatformRefusals implements OnModuleInit {
  constructor(
    @Inject(OIDC_OPTIONS) private readonly options: ResolvedOidcOptions,
    private readonly adapterHost: HttpAdapterHost,
  ) {}

  onModuleInit(): void {
    const instance: unknown = this.adapterHost.httpAdapter?.getInstance?.();
    if (this.options.routePrefix === false || !this.options.logout.backchannel) return;
    const suffix = `${this.options.routePrefix ? `/${this.options.routePrefix}` : ''}/backchannel-logout`;
    const isRoute = (method: string | undefined, url: string | undefined): boolean =>
      method === 'POST' && (url ?? '').split('?')[0]!.replace(/\/+$/, '').endsWith(suffix);
    if (isFastify(instance)) this.fastify(instance, isRoute);
    else if (isExpress(instance)) this.express(instance, isRoute);
  }

  private fastify(instance: FastifyLike, isRoute: (method: string, url: string) => boolean): void {
    instance.addHook('onSend', (request, reply, payload, done) => {
      const platformRefusal = (reply.statusCode === 400 || reply.statusCode === 415) && reply.getHeader('cache-control') === undefined;
      if (!isRoute(request.method, request.url) || !platformRefusal) {
        done(null, payload);
        return;
      }
      reply.code(400);
      reply.header('cache-control', 'no-store');
      reply.header('content-type', 'application/json; charset=utf-8');
      done(null, REFUSAL_BODY);
    });
  }

  private express(instance: ExpressLike, isRoute: (method: string | undefined, url: string | undefined) => boolean): void {
    const url = (req: IncomingMessage) => (req as { originalUrl?: string }).originalUrl ?? req.url;
    instance.use((req: IncomingMessage, res: ServerResponse, next: Next) => {
      if (!isRoute(req.method, url(req)) || req.readableEnded) return next();
      const chunks: Buffer[] = [];
      let size = 0;
      let done = false;
      req.on('data', (chunk: Buffer) => {
        if (done) return;
        size += chunk.length;
        if (size <= MAX_FORM_BODY) return void chunks.push(chunk);
        // Over the limit: 413 like the platform's own limit, the rest of the body drained unread.
        done = true;
        chunks.length = 0;
        send(res, 413, JSON.stringify({ error: 'invalid_request', error_description: `The body is over ${MAX_FORM_BODY} bytes.` }));
      });
      req.once('end', () => {
        if (done) return;
        done = true;
        (req as { [RAW_BODY]?: Buffer })[RAW_BODY] = Buffer.concat(chunks);
        next();
      });
      req.once('error', (err) => {
        if (done) return;
        done = true;
        next(err);
      });
    });
    // Before the body parsers, which Nest registered earlier: they skip a request whose body was read.
    const stack = instance.router?.stack;
    if (Array.isArray(stack) && stack.length > 1) stack.unshift(stack.pop());
    // Should a body parser still run first (an app that added its own ahead), its refusals are answered here.
    instance.use((err: unknown, req: IncomingMessage, res: ServerResponse, next: Next) => {
      const status = (err as { status?: unknown } | undefined)?.status;
      if (!isRoute(req.method, url(req)) || (status !== 400 && status !== 415) || res.headersSent) return next(err);
      send(res, 400, REFUSAL_BODY);
    });
  }
}

function send(res: ServerResponse, status: number, body: string): void {
  res.statusCode = status;
  res.setHeader('cache-control', 'no-store');
  res.setHeader('content-type', 'application/json; charset=utf-8');
  res.end(body);
}
