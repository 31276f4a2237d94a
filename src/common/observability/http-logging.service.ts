import { Injectable, OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance } from 'fastify';
import { PinoLogger } from 'nestjs-pino';
import { AppConfig } from 'src/config/app-config';
import { requestLogLevel } from 'src/common/observability/logging-options';

/**
 * Per request: every log made while serving it carries `reqId` (Fastify's request id, the
 * one returned in `X-Request-Id`), and one `request completed` line records method, URL
 * (credential query values masked), status and time. Fastify hooks see every request,
 * 404s and requests rejected before routing included.
 */
@Injectable()
export class HttpLoggingService implements OnModuleInit {
  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly pinoLogger: PinoLogger,
    private readonly config: AppConfig,
  ) {}

  onModuleInit(): void {
    // Nothing would be written: spare the hot path the per-request context.
    if (this.config.logLevel === 'silent') return;
    const fastify = this.adapterHost.httpAdapter.getInstance<FastifyInstance>();
    // Outside any request this is the root logger.
    const root = this.pinoLogger.logger;

    fastify.addHook('onRequest', (request, _reply, done) => {
      this.pinoLogger.runInContext(done, { bindings: { reqId: request.id } });
    });
    fastify.addHook('onResponse', (request, reply, done) => {
      const level = requestLogLevel(request.url, reply.statusCode);
      if (root.isLevelEnabled(level)) {
        root[level as 'info'](
          {
            reqId: request.id,
            req: { id: request.id, method: request.method, url: request.url, remoteAddress: request.ip },
            res: { statusCode: reply.statusCode },
            responseTime: Math.round(reply.elapsedTime),
          },
          'request completed',
        );
      }
      done();
    });
  }
}
