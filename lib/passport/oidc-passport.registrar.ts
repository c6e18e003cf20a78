import { Injectable, Logger, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { OidcPassportAuthenticator } from './oidc-passport.authenticator.js';
import { createOidcStrategies, type PassportStrategyClass, type PassportStrategyInstance } from './oidc-passport.strategies.js';

/** The parts of passport's `Authenticator` used here. */
interface PassportLike {
  Strategy: PassportStrategyClass;
  use(name: string, strategy: PassportStrategyInstance): unknown;
  unuse(name: string): unknown;
  /** Registered strategy by name (passport 0.4–0.7; internal, so probed before use). */
  _strategy?: (name: string) => unknown;
}

/**
 * Loads the optional peer `passport`, or undefined when it is not installed. The specifier is a variable
 * so that neither TypeScript nor a bundler turns it into a static dependency.
 */
async function loadPassport(): Promise<PassportLike | undefined> {
  const specifier = 'passport';
  let loaded: { default?: unknown };
  try {
    loaded = (await import(specifier)) as { default?: unknown };
  } catch (err) {
    const code = (err as { code?: unknown } | undefined)?.code;
    if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') return undefined;
    throw err;
  }
  const passport = (loaded.default ?? loaded) as Partial<PassportLike>;
  return typeof passport.use === 'function' && typeof passport.Strategy === 'function' ? (passport as PassportLike) : undefined;
}

/**
 * Registers the Passport strategies `oidc` and `oidc-bearer` (see {@link createOidcStrategies}) on
 * passport's default instance — the one `@nestjs/passport`'s `AuthGuard` uses — when `passport` is
 * installed. A strategy of the same name registered by the application first is left in place (with a
 * warning); on shutdown only the module's own registrations are removed.
 */
@Injectable()
export class OidcPassportRegistrar implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger('OidcPassport');
  private passport?: PassportLike;
  private readonly registered = new Map<string, PassportStrategyInstance>();

  constructor(private readonly authenticator: OidcPassportAuthenticator) {}

  async onModuleInit(): Promise<void> {
    const passport = await loadPassport();
    if (!passport) return;
    this.passport = passport;
    const { OidcStrategy, OidcBearerStrategy } = createOidcStrategies(passport.Strategy, this.authenticator);
    for (const strategy of [new OidcStrategy(), new OidcBearerStrategy()]) {
      const name = strategy.name!;
      if (passport._strategy?.(name) !== undefined) {
        this.logger.warn(`A Passport strategy named "${name}" is already registered; nestjs-oidc's is not registered under that name.`);
        continue;
      }
      passport.use(name, strategy);
      this.registered.set(name, strategy);
    }
  }

  onModuleDestroy(): void {
    const passport = this.passport;
    if (!passport) return;
    for (const [name, strategy] of this.registered) {
      // Another application in this process may have registered its own since; leave that one alone.
      if (passport._strategy?.(name) === strategy) passport.unuse(name);
    }
    this.registered.clear();
  }
}
