// One benchmark server variant, run in its own process so the load generator does not share its event
// loop. Prints `{"port":…, "cookie":…}` on stdout once listening. Uses the built package (dist/).
//
// Variants: `plain` (the app without OidcModule), `none` (with it; /open unguarded), `session-memory`,
// `session-redis` (REDIS_URL, default redis://127.0.0.1:6379), and `fill-memory:<n>` — n sessions of a real login's
// size in the MemorySessionStore (JWT-shaped ID and access tokens whose payloads are real claim sets, a 256-byte
// RS256 signature each, an opaque refresh token), for its memory growth.
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
if (variant !== 'plain') UseGuards(OidcGuard)(BenchController.prototype, 'secure', describe('secure'));

class AppModule {}
Module({
  imports:
    variant === 'plain'
      ? []
      : [
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

/** The JS heap in use and the memory outside it (buffers), in bytes. */
const heapOf = ({ heapUsed, external }) => ({ heapUsed, external });

let fill;
let sealedLength = 0;
if (variant.startsWith('fill-memory:')) {
  const count = Number(variant.slice('fill-memory:'.length));
  const b64 = (value) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const jwt = (header, payload) => `${b64(header)}.${b64(payload)}.${randomBytes(256).toString('base64url')}`;
  const iss = 'http://127.0.0.1:9';
  const now = Math.floor(Date.now() / 1000);
  for (let i = 0; i < count; i += 1) {
    const sub = `user-${i}-${randomBytes(8).toString('hex')}`;
    const sid = randomBytes(16).toString('hex');
    const idTokenClaims = {
      iss,
      sub,
      aud: 'bench',
      exp: now + 300,
      iat: now,
      auth_time: now,
      nonce: randomBytes(16).toString('base64url'),
      sid,
      at_hash: randomBytes(16).toString('base64url'),
      email: `user-${i}@example.com`,
      email_verified: true,
      name: `User ${i} Example`,
    };
    const accessClaims = {
      iss,
      sub,
      aud: 'https://api.bench',
      exp: now + 300,
      iat: now,
      jti: randomBytes(16).toString('hex'),
      client_id: 'bench',
      scope: 'openid profile email',
    };
    await createSession({
      iss,
      sub,
      sid,
      idTokenClaims,
      idToken: jwt({ alg: 'RS256', kid: 'k1', typ: 'JWT' }, idTokenClaims),
      accessToken: jwt({ alg: 'RS256', kid: 'k1', typ: 'at+jwt' }, accessClaims),
      refreshToken: randomBytes(32).toString('base64url'),
      tokenType: 'Bearer',
      accessTokenExpiresAt: now + 300,
      accessTokenIssuedAt: now,
      scope: 'openid profile email',
      userinfo: { sub, email: idTokenClaims.email, name: idTokenClaims.name },
    });
    if (i === 0) sealedLength = (await store.get([...store.entries.keys()][0])).payload.length;
  }
  // Full collections until the heap stops shrinking (at most five): one collection leaves the fill's garbage
  // scattered over pages it does not yet release, so RSS after one varied by ±20% from run to run.
  for (let i = 0, last = Infinity; i < 5 && globalThis.gc; i += 1) {
    globalThis.gc();
    await new Promise((resolve) => setImmediate(resolve));
    const used = process.memoryUsage().heapTotal;
    if (used >= last) break;
    last = used;
  }
  fill = { sessions: store.size, maxEntries: MEMORY_MAX_ENTRIES, sealedLength, ...heapOf(process.memoryUsage()) };
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
