import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { ResolvedOidcOptions } from '../config/resolve-oidc-options.js';
import { OIDC_OPTIONS } from '../oidc.constants.js';

interface FastifyLike {
  addHook(
    name: 'onSend',
    hook: (
      request: { method: string; url: string },
      reply: { statusCode: number; getHeader(name: string): unknown; header(name: string, value: string): unknown; code(status: number): unknown },
      payload: unknown,
      done: (err: Error | null, payload?: unknown) => void,
    ) => void,
  ): unknown;
}

function isFastify(instance: unknown): instance is FastifyLike {
  return typeof (instance as { addHook?: unknown } | undefined)?.addHook === 'function' && typeof (instance as { addContentTypeParser?: unknown }).addContentTypeParser === 'function';
}

/**
 * Back-Channel Logout 1.0 §2.8: every refusal on the back-channel route is `400 { "error": "invalid_request" }`
 * with `Cache-Control: no-store`. On Fastify a body the platform itself refuses before the route runs (a
 * missing or unsupported `Content-Type`: 415; a `__proto__` member: 400) would get the platform's own answer;
 * this hook, scoped to that one route, gives it the documented one instead. The platform's 413 (body size
 * limit) stays as it is. On Express the module reads the body itself and answers every case.
 */
@Injectable()
export class OidcPlatformRefusals implements OnModuleInit {
  constructor(
    @Inject(OIDC_OPTIONS) private readonly options: ResolvedOidcOptions,
    private readonly adapterHost: HttpAdapterHost,
  ) {}

  onModuleInit(): void {
    const instance: unknown = this.adapterHost.httpAdapter?.getInstance?.();
    if (this.options.routePrefix === false || !this.options.logout.backchannel || !isFastify(instance)) return;
    const suffix = `${this.options.routePrefix ? `/${this.options.routePrefix}` : ''}/backchannel-logout`;
    instance.addHook('onSend', (request, reply, payload, done) => {
      const path = request.url.split('?')[0]!;
      const platformRefusal = (reply.statusCode === 400 || reply.statusCode === 415) && reply.getHeader('cache-control') === undefined;
      if (request.method !== 'POST' || !path.endsWith(suffix) || !platformRefusal) {
        done(null, payload);
        return;
      }
      reply.code(400);
      reply.header('cache-control', 'no-store');
      reply.header('content-type', 'application/json; charset=utf-8');
      done(null, JSON.stringify({ error: 'invalid_request', error_description: 'Expected an application/x-www-form-urlencoded body with one logout_token.' }));
    });
  }
}
