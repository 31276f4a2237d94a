import { ArgumentsHost, Catch, ExceptionFilter, Logger } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { GraphQLError } from 'graphql';
import type { Socket } from 'socket.io';
import { toErrorBody } from 'src/common/errors/error-body';
import { OPENAI_PATH_PREFIX, toOpenAiError } from 'src/common/errors/openai-error';

/** The single place where errors become responses, for every transport. */
@Catch()
export class AllExceptionsFilter implements ExceptionFilter {
  private readonly logger = new Logger('Errors');

  catch(exception: unknown, host: ArgumentsHost): unknown {
    const body = toErrorBody(exception);
    if (body.statusCode >= 500) this.logger.error(exception instanceof Error ? (exception.stack ?? exception.message) : String(exception));

    switch (host.getType<'http' | 'graphql' | 'ws' | 'rpc'>()) {
      case 'http': {
        const http = host.switchToHttp();
        const reply = http.getResponse<FastifyReply>();
        const url = http.getRequest<FastifyRequest | undefined>()?.url ?? '';
        const retryAfter = body.details?.retryAfterSeconds;
        if (typeof retryAfter === 'number' && !reply.hasHeader('retry-after'))
          void reply.header('retry-after', String(Math.ceil(retryAfter)));
        void reply.status(body.statusCode).send(url.startsWith(OPENAI_PATH_PREFIX) ? toOpenAiError(body) : body);
        return;
      }
      case 'graphql':
        // Returned, not thrown: Nest hands it to the GraphQL executor as the field error.
        return new GraphQLError(body.message, { extensions: { ...body } });
      case 'ws': {
        // Socket handlers are called with (client, data, ack): answer the request it belongs to.
        const ack: unknown = host.getArgByIndex(2);
        if (typeof ack === 'function') {
          (ack as (response: unknown) => void)({ ok: false, error: body });
          return;
        }
        host.switchToWs().getClient<Socket>().emit('exception', body);
        return;
      }
      case 'rpc':
        throw exception;
    }
  }
}
