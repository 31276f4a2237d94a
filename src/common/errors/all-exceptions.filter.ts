import { ArgumentsHost, Catch, ExceptionFilter, Logger } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { GraphQLError } from 'graphql';
import type { Socket } from 'socket.io';
import { toErrorBody } from 'src/common/errors/error-body';

/** The single place where errors become responses, for every transport. */
@Catch()
export class AllExceptionsFilter implements ExceptionFilter {
  private readonly logger = new Logger('Errors');

  catch(exception: unknown, host: ArgumentsHost): unknown {
    const body = toErrorBody(exception);
    if (body.statusCode >= 500) this.logger.error(exception instanceof Error ? (exception.stack ?? exception.message) : String(exception));

    switch (host.getType<'http' | 'graphql' | 'ws' | 'rpc'>()) {
      case 'http': {
        const reply = host.switchToHttp().getResponse<FastifyReply>();
        void reply.status(body.statusCode).send(body);
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
