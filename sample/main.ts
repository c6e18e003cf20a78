/**
 * `npm run sample` — the nestjs-oidc sample app.
 *
 * Zero configuration: without `OIDC_ISSUER`, a development OpenID Provider (sample/dev-op.ts) is started
 * on 127.0.0.1 with this app registered as client `sample-app`; sign in with any username.
 *
 * Against a real OP, set (in the environment or a `.env` file):
 *   OIDC_ISSUER, OIDC_CLIENT_ID, OIDC_CLIENT_SECRET (omit for a public client),
 *   BASE_URL (default http://localhost:<PORT>), PORT (default 3000), HOST (default 127.0.0.1),
 *   SESSION_SECRET (≥ 32 characters; a fixed development value when unset), PLATFORM=express|fastify,
 *   OTEL_PROMETHEUS_PORT (the module's OpenTelemetry metrics at http://localhost:<port>/metrics).
 * Register `<BASE_URL>/auth/callback` as redirect URI and `<BASE_URL>` as post-logout redirect URI at the OP.
 */
import 'reflect-metadata';
import { createServer } from 'node:net';
import type { INestApplication } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { OidcError } from '../lib/index.js';
import { AppModule } from './app.module.js';
import { createSampleApp, type SamplePlatform } from './create-app.js';
import { DEV_CLIENT_ID, DEV_CLIENT_SECRET, DEV_SESSION_SECRET, devClient } from './dev-client.js';
import { startDevOp, type DevOp } from './dev-op.js';

/** A startup problem the user can fix: printed without a stack trace. */
class SampleStartupError extends Error {}

function readPort(): number {
  const raw = process.env.PORT?.trim();
  if (!raw) return 3000;
  const port = Number(raw);
  if (!/^\d+$/.test(raw) || port < 1 || port > 65535) {
    throw new SampleStartupError(`PORT must be a port number from 1 to 65535, got "${raw}".`);
  }
  return port;
}

function readPlatform(): SamplePlatform {
  const raw = process.env.PLATFORM?.trim().toLowerCase() || 'express';
  if (raw !== 'express' && raw !== 'fastify') {
    throw new SampleStartupError(`PLATFORM must be "express" or "fastify", got "${process.env.PLATFORM}".`);
  }
  return raw;
}

function readBaseUrl(port: number): string {
  const baseUrl = process.env.BASE_URL?.trim() || `http://localhost:${port}`;
  try {
    new URL(baseUrl);
  } catch {
    throw new SampleStartupError(`BASE_URL must be an absolute URL such as http://localhost:${port}, got "${baseUrl}".`);
  }
  return baseUrl;
}

function listenError(err: unknown, host: string, port: number): Error {
  const code = (err as NodeJS.ErrnoException)?.code;
  if (code === 'EADDRINUSE') {
    return new SampleStartupError(
      `Port ${port} is already in use on ${host}. Stop the program using it, or pick another port with PORT, e.g. PORT=${port === 65535 ? 3001 : port + 1} npm run sample`,
    );
  }
  if (code === 'EACCES')
    return new SampleStartupError(`Not allowed to listen on ${host}:${port}. Choose a port above 1023 with PORT, e.g. PORT=3000.`);
  if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND')
    return new SampleStartupError(`Cannot listen on HOST "${host}": no such local address.`);
  return err as Error;
}

/** Fails early (before the dev OP and Nest start) when host:port is taken; listen() still reports a late conflict. */
async function assertPortFree(host: string, port: number): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const probe = createServer();
    probe.once('error', (err) => reject(listenError(err, host, port)));
    probe.listen(port, host, () => probe.close(() => resolve()));
  });
}

async function main(): Promise<void> {
  // ConfigModule.forRoot() (in AppModule) has loaded a `.env` file, if there is one, into process.env.
  await ConfigModule.envVariablesLoaded;
  const env = process.env;
  const platform = readPlatform();
  const port = readPort();
  const host = env.HOST?.trim() || '127.0.0.1';
  const baseUrl = readBaseUrl(port);
  env.BASE_URL = baseUrl;

  const notes: string[] = [];
  if (!env.SESSION_SECRET) {
    env.SESSION_SECRET = DEV_SESSION_SECRET;
    notes.push('SESSION_SECRET is not set: using a fixed development secret. Never do that in production.');
  }

  let op: DevOp | undefined;
  let app: INestApplication | undefined;
  const closeAll = async () => {
    await app?.close().catch((err: unknown) => console.error('Error while closing the app:', err));
    await op?.close().catch((err: unknown) => console.error('Error while closing the development OP:', err));
  };

  await assertPortFree(host, port);
  try {
    if (!env.OIDC_ISSUER) {
      if (env.OIDC_CLIENT_ID || env.OIDC_CLIENT_SECRET) {
        notes.push('OIDC_CLIENT_ID / OIDC_CLIENT_SECRET are ignored without OIDC_ISSUER (the development OP has its own client).');
      }
      // The OP listens on 127.0.0.1 only; the app's redirect URIs at the OP are derived from the
      // same baseUrl the module uses, so `redirect_uri` always matches the registration.
      op = await startDevOp({ host: '127.0.0.1', clients: [devClient(baseUrl)] });
      env.OIDC_ISSUER = op.issuer;
      env.OIDC_CLIENT_ID = DEV_CLIENT_ID;
      env.OIDC_CLIENT_SECRET = DEV_CLIENT_SECRET;
    } else if (!env.OIDC_CLIENT_ID) {
      throw new SampleStartupError(
        'OIDC_ISSUER is set but OIDC_CLIENT_ID is not: set both (and OIDC_CLIENT_SECRET for a confidential client), or neither to use the development OP.',
      );
    }

    const prometheus = await startPrometheus(env.OTEL_PROMETHEUS_PORT);
    if (prometheus) notes.push(prometheus);
    app = await createSampleApp(AppModule, platform);
    try {
      await app.listen(port, host);
    } catch (err) {
      throw listenError(err, host, port);
    }
  } catch (err) {
    await closeAll();
    throw err;
  }

  // Exactly one URL to open: the app's baseUrl. Cookies are per host, so opening the listening address
  // (127.0.0.1) instead of baseUrl (localhost) would lose the login transaction.
  const who = op ? 'sign in with any username (the built-in development OP)' : `sign in at your OP (client_id ${env.OIDC_CLIENT_ID})`;
  console.log('');
  for (const note of notes) console.log(`Note: ${note}`);
  console.log(`Open ${baseUrl} and ${who}.`);
  console.log(`(${platform}, port ${port}; press Ctrl+C to stop)`);
  console.log('');

  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) {
      process.exit(130); // a second Ctrl+C: leave now
    }
    stopping = true;
    console.log(`\n${signal} received: stopping the sample…`);
    setTimeout(() => {
      console.error('Shutdown took longer than 5 s; exiting anyway.');
      process.exit(1);
    }, 5000).unref();
    void closeAll().then(() => process.exit(0));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((err: unknown) => {
  if (err instanceof SampleStartupError) {
    console.error(`\nCannot start the sample: ${err.message}\n`);
  } else if (err instanceof OidcError) {
    // e.g. an invalid option: Nest has logged the stack already; the message names the option
    console.error(
      `\nCannot start the sample: ${err.message}\n(The options come from OIDC_ISSUER, OIDC_CLIENT_ID, OIDC_CLIENT_SECRET, BASE_URL and SESSION_SECRET.)\n`,
    );
  } else {
    console.error('\nCannot start the sample:', err);
  }
  process.exit(1);
});

/**
 * OTEL_PROMETHEUS_PORT: the module's metrics (`oidc_logins_total`, `oidc_op_duration`, …) on a Prometheus endpoint.
 * Registered before the app is created: the module takes its meter from the global provider when it starts.
 */
async function startPrometheus(port: string | undefined): Promise<string | undefined> {
  if (!port) return undefined;
  const { metrics } = await import('@opentelemetry/api');
  const { MeterProvider } = await import('@opentelemetry/sdk-metrics');
  const { PrometheusExporter } = await import('@opentelemetry/exporter-prometheus');
  metrics.setGlobalMeterProvider(new MeterProvider({ readers: [new PrometheusExporter({ port: Number(port) })] }));
  return `OpenTelemetry metrics: http://localhost:${port}/metrics`;
}
