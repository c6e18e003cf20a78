import { Module, type DynamicModule, type Provider } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import type { OidcModuleExtras, OidcModuleOptions } from './config/oidc-options.interface.js';
import { AccessTokenVerifier } from './bearer/access-token.verifier.js';
import { DpopVerifier } from './bearer/dpop.verifier.js';
import { DEFAULT_JWKS_CACHE_SETTINGS, JWKS_CACHE_SETTINGS, JwksCache } from './keys/jwks.cache.js';
import { TokenIntrospector } from './bearer/token-introspector.js';
import { resolveOidcExtras, resolveOidcOptions, type ResolvedOidcOptions } from './config/resolve-oidc-options.js';
import { OidcEvents } from './events/oidc-events.service.js';
import { OidcDiscoveryService } from './discovery/oidc-discovery.service.js';
import { OidcAuthenticator } from './auth/oidc-authenticator.js';
import { OidcSocketAuth } from './auth/oidc-socket-auth.js';
import { OidcGuard } from './guards/oidc.guard.js';
import { OidcPlatformRefusals } from './http/platform-refusals.js';
import { OidcTelemetry } from './telemetry/oidc-telemetry.js';
import { DpopKeys } from './tokens/dpop-keys.js';
import { IdTokenVerifier } from './tokens/id-token.verifier.js';
import { OidcLoginService } from './login/oidc-login.service.js';
import { OidcLogoutService } from './logout/oidc-logout.service.js';
import { OidcPassportAuthenticator } from './passport/oidc-passport.authenticator.js';
import { OidcPassportRegistrar } from './passport/oidc-passport.registrar.js';
import { MemoryReplayCache } from './cache/replay-cache.js';
import { OidcChannelLogoutService } from './logout/oidc-channel-logout.service.js';
import {
  OIDC_CLOCK,
  OIDC_EXTRAS,
  OIDC_OPTIONS,
  OIDC_REPLAY_CACHE,
  OIDC_SESSION_STORE,
  systemClock,
  type OidcClock,
} from './oidc.constants.js';
import { MemorySessionStore } from './session/memory-session.store.js';
import type { OidcSessionStore } from './session/session-store.interface.js';
import { OIDC_ASYNC_OPTIONS_TYPE, OIDC_MODULE_OPTIONS, OIDC_OPTIONS_TYPE, OidcConfigurableModule } from './oidc.module-definition.js';
import { createAuthController } from './routes/oidc-auth.controller.js';
import { OidcSessionService } from './session/oidc-session.service.js';
import { OidcTokenService } from './tokens/oidc-token.service.js';

const PUBLIC_PROVIDERS = [
  OidcDiscoveryService,
  OidcSessionService,
  OidcTokenService,
  OidcAuthenticator,
  OidcSocketAuth,
  OidcGuard,
  AccessTokenVerifier,
  OidcEvents,
] as const;

/**
 * OpenID Connect for NestJS: browser login with server-side sessions, logout, and a guard that accepts
 * the session or a Bearer/DPoP access token.
 *
 * @see OIDC Core §3.1 (authorization code flow), RFC 7636 (PKCE), RFC 9700 (OAuth 2.0 security BCP)
 * @example
 * ```ts
 * OidcModule.forRootAsync({
 *   imports: [ConfigModule],
 *   inject: [ConfigService],
 *   useFactory: (config: ConfigService) => ({
 *     issuer: config.getOrThrow('OIDC_ISSUER'),
 *     clientId: config.getOrThrow('OIDC_CLIENT_ID'),
 *     clientSecret: config.get('OIDC_CLIENT_SECRET'),
 *     baseUrl: 'https://app.example.com',
 *     session: { secret: config.getOrThrow('SESSION_SECRET') },
 *   }),
 * })
 * ```
 */
@Module({})
export class OidcModule extends OidcConfigurableModule {
  /** Registers the module with options given now. */
  static override forRoot(options: typeof OIDC_OPTIONS_TYPE): DynamicModule {
    return OidcModule.complete(super.forRoot(options), options);
  }

  /** Registers the module with options from `useFactory`, `useClass` or `useExisting`. */
  static override forRootAsync(options: typeof OIDC_ASYNC_OPTIONS_TYPE): DynamicModule {
    return OidcModule.complete(super.forRootAsync(options), options, true);
  }

  private static complete(definition: DynamicModule, extras: OidcModuleExtras, fromFactory = false): DynamicModule {
    const { isGlobal, routePrefix } = resolveOidcExtras(extras);
    const providers: Provider[] = [
      ...(definition.providers ?? []),
      { provide: OIDC_EXTRAS, useValue: Object.freeze({ isGlobal, routes: extras.routes, fromFactory }) },
      {
        provide: OIDC_OPTIONS,
        inject: [OIDC_MODULE_OPTIONS, OIDC_EXTRAS],
        useFactory: (raw: OidcModuleOptions, x: OidcModuleExtras) => resolveOidcOptions(raw, x),
      },
      { provide: OIDC_CLOCK, useValue: systemClock },
      { provide: JWKS_CACHE_SETTINGS, useValue: DEFAULT_JWKS_CACHE_SETTINGS },
      {
        provide: OIDC_SESSION_STORE,
        inject: [OIDC_OPTIONS, OIDC_CLOCK],
        useFactory: (options: ResolvedOidcOptions, clock: OidcClock) =>
          options.session.store ?? new MemorySessionStore({ now: () => clock.now() }),
      },
      {
        // A shared store (Redis) brings a shared replay cache, so a replayed jti is refused on every instance.
        provide: OIDC_REPLAY_CACHE,
        inject: [OIDC_SESSION_STORE, OIDC_CLOCK],
        useFactory: (store: OidcSessionStore, clock: OidcClock) => store.replayCache ?? new MemoryReplayCache(undefined, () => clock.now()),
      },
      OidcChannelLogoutService,
      ...PUBLIC_PROVIDERS,
      OidcLoginService,
      IdTokenVerifier,
      DpopKeys,
      OidcTelemetry,
      JwksCache,
      DpopVerifier,
      TokenIntrospector,
      // Passport strategies `oidc` and `oidc-bearer`, registered only when the optional `passport` is installed.
      OidcPassportAuthenticator,
      OidcPassportRegistrar,
      OidcLogoutService,
      OidcPlatformRefusals,
      {
        // `globalGuard` comes with the options (maybe from useFactory), so the guard is chosen once they are
        // resolved: null when it is off, which Nest leaves out — nothing runs on the app's routes then.
        provide: APP_GUARD,
        inject: [OIDC_OPTIONS, OidcGuard],
        useFactory: (options: ResolvedOidcOptions, guard: OidcGuard) => (options.globalGuard ? guard : null),
      },
    ];
    return {
      ...definition,
      providers,
      controllers: routePrefix === false ? [] : [createAuthController(routePrefix)],
      exports: [...PUBLIC_PROVIDERS, OIDC_OPTIONS, OIDC_CLOCK, OIDC_REPLAY_CACHE],
    };
  }
}
