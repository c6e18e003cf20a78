import type { DynamicModule, INestApplication, LogLevel, Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';

export type SamplePlatform = 'express' | 'fastify';

/**
 * Creates (does not start) the Nest application on Express or Fastify. Neither platform needs extra
 * middleware for the module: it reads and writes its cookies and form bodies itself.
 */
export async function createSampleApp(
  module: Type<unknown> | DynamicModule,
  platform: SamplePlatform,
  options: { logger?: LogLevel[] | false } = {},
): Promise<INestApplication> {
  const adapter =
    platform === 'fastify'
      ? new (await import('@nestjs/platform-fastify')).FastifyAdapter()
      : new (await import('@nestjs/platform-express')).ExpressAdapter();
  return NestFactory.create(module, adapter, {
    logger: options.logger,
    // report bootstrap errors to the caller instead of exiting the process (main.ts closes the dev OP first)
    abortOnError: false,
    // an open keep-alive connection from the browser must not hold up shutdown
    forceCloseConnections: true,
  });
}
