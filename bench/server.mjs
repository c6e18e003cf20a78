// One benchmark server variant, run in its own process so the load generator does not share its event
// loop. Prints `{"port":…, "cookie":…}` on stdout once listening. Uses the built package (dist/).
import 'reflect-metadata';
import { Controller, Get, Module, UseGuards } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { MemorySessionStore, OidcGuard, OidcModule, OidcSessionService } from '../dist/index.js';

const variant = process.argv[2] ?? 'none';

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
      session: { secret: 'a-benchmark-session-secret-of-32-chars!', store: new MemorySessionStore({ maxEntries: 200_000 }) },
    }),
  ],
  controllers: [BenchController],
})(AppModule);

const app = await NestFactory.create(AppModule, { logger: false });
await app.listen(0, '127.0.0.1');
const port = app.getHttpServer().address().port;

let cookie = '';
if (variant === 'session-memory') {
  // A real session through the module's own service, as a login would create it.
  const headers = {};
  const res = { getHeader: (n) => headers[n], setHeader: (n, v) => (headers[n] = v) };
  await app.get(OidcSessionService).create({ headers: {}, rawHeaders: [] }, res, {
    iss: 'http://127.0.0.1:9',
    sub: 'bench-user',
    sid: 'bench-sid',
    idTokenClaims: { iss: 'http://127.0.0.1:9', sub: 'bench-user', aud: 'bench', exp: 0, iat: 0, email: 'bench@example.com' },
    accessToken: 'opaque',
    scope: 'openid profile email',
  });
  cookie = String(headers['set-cookie'][0]).split(';')[0];
}
process.stdout.write(`${JSON.stringify({ port, cookie })}\n`);
process.on('SIGTERM', () => app.close().then(() => process.exit(0)));
