// One benchmark server variant, run in its own process so the load generator does not share its event
// loop. Prints `{"port":…, "cookie":…}` on stdout once listening. Uses the built package (dist/).
//
// Variants: `none`, `session-memory`, `session-redis` (REDIS_URL, default redis://127.0.0.1:6379), and
// `fill-memory:<n>` — n sessions of realistic size in the MemorySessionStore, for its memory growth.
import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import { Controller, Get, Module, UseGuards } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Redis } from 'ioredis';
import { MemorySessionStore, OidcGuard, OidcModule, OidcSessionService, RedisSessionStore } from '../dist/index.js';

const variant = process.argv[2] ?? 'none';
const MEMORY_MAX_ENTRIES = 200_000;
const redis = variant === 'session-redis' ? new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379') : undefined;
const redisPrefix = `nestjs-oidc-bench:${process.pid}:`;
const store = redis
  ? new RedisSessionStore({ client: redis, prefix: redisPrefix })
  : new MemorySessionStore({ maxEntries: MEMORY_MAX_ENTRIES });

class BenchController {
  open() {
    return { ok: true };
  }
  secure() {
    return { ok: true };
  }
}
Controller()(BenchController);
const describe = (name) => Object.getOwnPropertyDescriptor(BenchController.prototype, name);
Get('open')(BenchController.prototype, 'open', describe('open'));
Get('secure')(BenchController.prototype, 'secure', describe('secure'));
UseGuards(OidcGuard)(BenchController.prototype, 'secure', describe('secure'));

class AppModule {}
Module({
  imports: [
    OidcModule.forRoot({
      // Nothing listens here: the session path of the guard never needs the OP.
      issuer: 'http://127.0.0.1:9',
      clientId: 'bench',
      clientSecret: 'bench-secret',
      baseUrl: 'http://127.0.0.1:3000',
      session: { secret: 'a-benchmark-session-secret-of-32-chars!', store },
    }),
  ],
  controllers: [BenchController],
})(AppModule);

const app = await NestFactory.create(AppModule, { logger: false });
await app.listen(0, '127.0.0.1');
const port = app.getHttpServer().address().port;

/** A session as a login would create it, through the module's own service (so the payload is sealed). */
async function createSession(input) {
  const headers = {};
  const res = { getHeader: (n) => headers[n], setHeader: (n, v) => (headers[n] = v) };
  await app.get(OidcSessionService).create({ headers: {}, rawHeaders: [] }, res, input);
  return String(headers['set-cookie'][0]).split(';')[0];
}

let cookie = '';
if (variant === 'session-memory' || variant === 'session-redis') {
  cookie = await createSession({
    iss: 'http://127.0.0.1:9',
    sub: 'bench-user',
    sid: 'bench-sid',
    idTokenClaims: { iss: 'http://127.0.0.1:9', sub: 'bench-user', aud: 'bench', exp: 0, iat: 0, email: 'bench@example.com' },
    accessToken: 'opaque',
    scope: 'openid profile email',
  });
}

let fill;
if (variant.startsWith('fill-memory:')) {
  const count = Number(variant.slice('fill-memory:'.length));
  // Sizes of a typical login: an RS256 ID token (~1 KB), a JWT access token (~1 KB), an opaque refresh token.
  const token = (bytes) => randomBytes(bytes).toString('base64url');
  for (let i = 0; i < count; i += 1) {
    await createSession({
      iss: 'http://127.0.0.1:9',
      sub: `user-${i}`,
      sid: `sid-${i}`,
      idTokenClaims: {
        iss: 'http://127.0.0.1:9',
        sub: `user-${i}`,
        aud: 'bench',
        exp: 0,
        iat: 0,
        email: `user-${i}@example.com`,
        name: `User ${i}`,
      },
      idToken: token(750),
      accessToken: token(750),
      refreshToken: token(32),
      scope: 'openid profile email',
    });
  }
  globalThis.gc?.();
  fill = { sessions: store.size, maxEntries: MEMORY_MAX_ENTRIES };
}
process.stdout.write(`${JSON.stringify({ port, cookie, fill })}\n`);
process.on('SIGTERM', async () => {
  await app.close();
  if (redis) {
    // Leave nothing behind in a shared Redis.
    const keys = [];
    let cursor = '0';
    do {
      const [next, batch] = await redis.scan(cursor, 'MATCH', `${redisPrefix}*`, 'COUNT', 1000);
      keys.push(...batch);
      cursor = next;
    } while (cursor !== '0');
    if (keys.length) await redis.unlink(...keys);
    await redis.quit();
  }
  process.exit(0);
});
