// One bearer-benchmark server variant (bench/bearer.mjs), run in its own process so the load generator
// does not share its event loop: a NestJS Express app on 127.0.0.1 with one GET route `/api` answering
// `{ ok: true }`, guarded according to the variant. Prints `{"port":…}` on stdout once listening.
//   node bench/bearer-server.mjs <none|passport-jwt|jose-guard|oidc-guard|noop-guard|duties-guard|jose-floor|oidc-module> <issuer URL>
// The issuer is the local bench/issuer.mjs (its JWKS is at <issuer>/jwks). oidc-guard uses the built
// package (dist/), so run `npm run build` first.
import 'reflect-metadata';
import { Controller, Get, Injectable, Module, UnauthorizedException, UseGuards } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';

const [variant = 'none', issuer] = process.argv.slice(2);
const AUDIENCE = 'https://api.bench';
const ALGORITHMS = ['RS256', 'ES256'];
if (variant !== 'none' && !issuer) throw new Error('usage: bearer-server.mjs <variant> <issuer URL>');
const jwksUri = `${issuer}/jwks`;

class BenchController {
  api() {
    return { ok: true };
  }
}
Controller()(BenchController);
const describe = (name) => Object.getOwnPropertyDescriptor(BenchController.prototype, name);
Get('api')(BenchController.prototype, 'api', describe('api'));

const imports = [];
const providers = [];

if (variant === 'none') {
  // no guard
} else if (variant === 'noop-guard') {
  // Diagnostic floor (bench/bearer-profile.mjs): what any async guard costs in NestJS, without checking anything.
  class NoopGuard {
    async canActivate() {
      return true;
    }
  }
  Injectable()(NoopGuard);
  providers.push(NoopGuard);
  UseGuards(NoopGuard)(BenchController.prototype, 'api', describe('api'));
} else if (variant === 'duties-guard') {
  // Diagnostic floor: only what OidcGuard must do on a re-used token besides its cache lookup and checks — one
  // SHA-256 of the token (the cache key: tokens are not held), `Cache-Control: no-store` on the authenticated
  // response (a user's data is not for shared caches), and `req.user` (Passport-compatible). No verification: never deploy it.
  const { hash } = await import('node:crypto');
  class DutiesGuard {
    async canActivate(context) {
      const http = context.switchToHttp();
      const req = http.getRequest();
      const header = req.headers.authorization;
      if (typeof header !== 'string' || !header.startsWith('Bearer ')) throw new UnauthorizedException();
      const key = hash('sha256', header.slice(7), 'base64url');
      http.getResponse().setHeader('cache-control', 'no-store');
      req.user = { sub: key };
      return true;
    }
  }
  Injectable()(DutiesGuard);
  providers.push(DutiesGuard);
  UseGuards(DutiesGuard)(BenchController.prototype, 'api', describe('api'));
} else if (variant === 'passport-jwt') {
  // The NestJS docs' way: @nestjs/passport + passport-jwt, keys from jwks-rsa.
  const { AuthGuard, PassportModule, PassportStrategy } = await import('@nestjs/passport');
  const { ExtractJwt, Strategy } = (await import('passport-jwt')).default;
  const { passportJwtSecret } = await import('jwks-rsa');
  class JwtStrategy extends PassportStrategy(Strategy, 'jwt') {
    constructor() {
      super({
        jwtFromRequest: ExtractJwt.fromAuthHeaderAsBearerToken(),
        secretOrKeyProvider: passportJwtSecret({ cache: true, rateLimit: true, jwksRequestsPerMinute: 5, jwksUri }),
        issuer,
        audience: AUDIENCE,
        algorithms: ALGORITHMS,
      });
    }
    validate(payload) {
      return payload;
    }
  }
  Injectable()(JwtStrategy);
  imports.push(PassportModule);
  providers.push(JwtStrategy);
  UseGuards(AuthGuard('jwt'))(BenchController.prototype, 'api', describe('api'));
} else if (variant === 'jose-guard' || variant === 'jose-floor') {
  // jose-guard: a minimal hand-written guard on jose alone, its keys from createRemoteJWKSet.
  // jose-floor (diagnostic floor of a fresh token): the same with the issuer's keys fetched and imported once at start
  // (no JWKS cache, nothing cached): what any guard that has jose verify every new token costs at least.
  const { createRemoteJWKSet, importJWK, jwtVerify } = await import('jose');
  let keyOf;
  if (variant === 'jose-guard') {
    keyOf = createRemoteJWKSet(new URL(jwksUri));
  } else {
    const { keys } = await (await fetch(jwksUri)).json();
    const byKid = new Map(await Promise.all(keys.map(async (jwk) => [jwk.kid, await importJWK(jwk, jwk.alg)])));
    keyOf = (header) => byKid.get(header.kid);
  }
  class JoseGuard {
    async canActivate(context) {
      const req = context.switchToHttp().getRequest();
      const header = req.headers.authorization;
      if (typeof header !== 'string' || !header.startsWith('Bearer ')) throw new UnauthorizedException();
      try {
        const { payload } = await jwtVerify(header.slice(7), keyOf, { issuer, audience: AUDIENCE, algorithms: ALGORITHMS });
        req.user = payload;
        return true;
      } catch {
        throw new UnauthorizedException();
      }
    }
  }
  Injectable()(JoseGuard);
  providers.push(JoseGuard);
  UseGuards(JoseGuard)(BenchController.prototype, 'api', describe('api'));
} else if (variant === 'oidc-guard' || variant === 'oidc-module') {
  // oidc-module (diagnostic, bench/bearer-profile.mjs): the module imported, the route left unguarded.
  const { AuthMethods, OidcGuard, OidcModule } = await import('../dist/index.js');
  imports.push(
    OidcModule.forRoot({
      issuer,
      clientId: 'bench',
      clientSecret: 'bench-secret-bench-secret',
      baseUrl: 'http://127.0.0.1:3000',
      session: { secret: 'x'.repeat(40) },
      bearer: { audience: AUDIENCE },
    }),
  );
  if (variant === 'oidc-guard') UseGuards(OidcGuard)(BenchController.prototype, 'api', describe('api'));
  AuthMethods('bearer')(BenchController.prototype, 'api', describe('api'));
} else {
  throw new Error(`unknown variant ${variant}`);
}

class AppModule {}
Module({ imports, providers, controllers: [BenchController] })(AppModule);

const app = await NestFactory.create(AppModule, { logger: false });
await app.listen(0, '127.0.0.1');
process.stdout.write(`${JSON.stringify({ port: app.getHttpServer().address().port })}\n`);
const stop = () =>
  app.close().then(
    () => process.exit(0),
    () => process.exit(1),
  );
process.on('SIGTERM', stop);
// The parent owns this process: when its stdin closes (parent gone, even after a crash), exit too.
process.stdin.resume();
process.stdin.on('end', stop);
