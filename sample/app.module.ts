import { type DynamicModule, Module } from '@nestjs/common';
import { ConfigModule, ConfigService } from '@nestjs/config';
import { OidcModule, type OidcModuleOptions } from '../lib/index.js';
import { ApolloDriver, type ApolloDriverConfig } from '@nestjs/apollo';
import { GraphQLModule } from '@nestjs/graphql';
import { MercuriusDriver, type MercuriusDriverConfig } from '@nestjs/mercurius';
import { HomeController, RoutesController } from './home.controller.js';
import { LiveController, SampleGateway, SampleResolver } from './live.js';
import { SAMPLE_API_AUDIENCE } from './dev-client.js';
import { ProfileController } from './profile.controller.js';

/**
 * OidcModule configured from the environment, exactly as an application would do it:
 *
 * | variable             | meaning                                                         |
 * | -------------------- | --------------------------------------------------------------- |
 * | `OIDC_ISSUER`        | the OpenID Provider's issuer URL                                |
 * | `OIDC_CLIENT_ID`     | this app's client_id at the OP                                  |
 * | `OIDC_CLIENT_SECRET` | its secret (leave unset for a public client)                    |
 * | `BASE_URL`           | this app's public URL; default `http://localhost:<PORT or 3000>` |
 * | `SESSION_SECRET`     | ≥ 32 random characters that seal the session                    |
 * | `API_AUDIENCE`       | the `aud` Bearer tokens for `/api/me` must carry; default the dev OP's API |
 *
 * (`npm run sample` without `OIDC_ISSUER` starts a development OP and fills these in — see main.ts.)
 */
function oidcModuleFromConfig(): DynamicModule {
  return OidcModule.forRootAsync({
    imports: [ConfigModule],
    inject: [ConfigService],
    useFactory: (config: ConfigService): OidcModuleOptions => ({
      issuer: config.getOrThrow('OIDC_ISSUER'),
      clientId: config.getOrThrow('OIDC_CLIENT_ID'),
      clientSecret: config.get('OIDC_CLIENT_SECRET') || undefined,
      baseUrl: config.get('BASE_URL') || `http://localhost:${config.get('PORT') || 3000}`,
      session: { secret: config.getOrThrow('SESSION_SECRET') },
      // `/api/me` also takes Bearer tokens issued for this API (the profile page shows how to get one).
      bearer: { audience: config.get('API_AUDIENCE') || SAMPLE_API_AUDIENCE },
    }),
  });
}

const controllers = [HomeController, ProfileController, RoutesController, LiveController];
const providers = [SampleResolver, SampleGateway];

/** `POST /graphql`: Apollo on Express, Mercurius on Fastify (code first, the schema kept in memory). */
function graphqlFor(platform: string | undefined): DynamicModule {
  return platform === 'fastify'
    ? GraphQLModule.forRoot<MercuriusDriverConfig>({ driver: MercuriusDriver, autoSchemaFile: true })
    : GraphQLModule.forRoot<ApolloDriverConfig>({ driver: ApolloDriver, autoSchemaFile: true });
}

/** The sample application: a public home page, a guarded profile page and a guarded JSON route. */
@Module({
  imports: [ConfigModule.forRoot({ isGlobal: true }), oidcModuleFromConfig(), graphqlFor(process.env.PLATFORM?.trim().toLowerCase())],
  controllers,
  providers,
})
export class AppModule {}

/** What the sample needs to know; {@link AppModule} reads the same values from the environment. */
export interface SampleSettings {
  issuer: string;
  clientId: string;
  clientSecret?: string;
  baseUrl: string;
  sessionSecret: string;
  /** The platform the app runs on (it picks the GraphQL driver). @default 'express' */
  platform?: 'express' | 'fastify';
}

/** The application module {@link createSampleModule} returns (same imports and controllers as {@link AppModule}). */
@Module({})
export class SampleModule {}

/**
 * The same application as {@link AppModule}, configured with `settings` instead of the environment
 * (`.env` and `process.env` are ignored) — for tests and for embedding the sample.
 */
export function createSampleModule(settings: SampleSettings): DynamicModule {
  const values: Record<string, string> = {
    OIDC_ISSUER: settings.issuer,
    OIDC_CLIENT_ID: settings.clientId,
    BASE_URL: settings.baseUrl,
    SESSION_SECRET: settings.sessionSecret,
  };
  if (settings.clientSecret !== undefined) values.OIDC_CLIENT_SECRET = settings.clientSecret;
  return {
    module: SampleModule,
    imports: [
      ConfigModule.forRoot({ isGlobal: true, ignoreEnvFile: true, skipProcessEnv: true, load: [() => values] }),
      oidcModuleFromConfig(),
      graphqlFor(settings.platform),
    ],
    controllers,
    providers,
  };
}
