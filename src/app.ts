import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { Logger } from 'nestjs-pino';
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { AppModule } from 'src/app.module';
import { registerMultipart } from 'src/common/http/multipart-routes';
import { connectRoleTransports } from 'src/common/transport/connect-role-transports';
import { AppConfig } from 'src/config/app-config';
import { RealtimeIoAdapter } from 'src/modules/realtime/realtime-io.adapter';
import { setupOpenApi } from 'src/openapi';

export const API_PREFIX = 'api/v1';
/** Served at the root, outside the REST prefix (`v1` is the OpenAI-compatible API). */
const UNPREFIXED_ROUTES = ['health/{*path}', 'metrics', 'v1/{*path}'];
const REQUEST_ID = /^[A-Za-z0-9._-]{1,64}$/;

/**
 * Builds the whole application (HTTP, GraphQL, sockets, transports) without listening, so
 * that `main.ts` and the tests boot exactly the same thing.
 */
export async function createApp(config: AppConfig): Promise<NestFastifyApplication> {
  const adapter = new FastifyAdapter({
    bodyLimit: config.bodyLimitBytes,
    trustProxy: config.trustProxy,
    // Honour a caller's X-Request-Id when it is sane, so logs line up across services.
    genReqId: (request: IncomingMessage) => {
      const incoming = request.headers['x-request-id'];
      return typeof incoming === 'string' && REQUEST_ID.test(incoming) ? incoming : randomUUID();
    },
  });
  const app = await NestFactory.create<NestFastifyApplication>(AppModule.forRoot(config), adapter, {
    bufferLogs: true,
    abortOnError: false,
  });
  app.useLogger(app.get(Logger));
  app.setGlobalPrefix(API_PREFIX, { exclude: UNPREFIXED_ROUTES });
  const fastify = app.getHttpAdapter().getInstance();
  // Set on arrival with a callback hook: an async onSend hook costs a promise per response.
  fastify.addHook('onRequest', (request, reply, done) => {
    reply.header('x-request-id', request.id);
    done();
  });
  await registerMultipart(app);
  if (config.hasRole('api')) setupOpenApi(app);
  // Socket.IO shares Fastify's Node server; with REDIS_URL its rooms span every replica.
  app.useWebSocketAdapter(new RealtimeIoAdapter(app, config));
  connectRoleTransports(app, config);
  await app.init();
  // Cross-role handlers answer on NATS/Redis from here on (in-process ones already do).
  await app.startAllMicroservices();
  return app;
}
