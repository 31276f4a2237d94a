import { createParamDecorator, ExecutionContext } from '@nestjs/common';
import { getRequestFromContext } from 'src/common/auth/request-context';
import { ClientInfo } from 'src/modules/auth/auth.service';

/** Caller IP (as resolved by Fastify's trustProxy setting) and user agent, for sessions and audit; REST and GraphQL. */
export const Client = createParamDecorator((_: unknown, context: ExecutionContext): ClientInfo => {
  const request = getRequestFromContext(context);
  const userAgent = request.headers['user-agent'];
  return { ip: request.ip, userAgent: typeof userAgent === 'string' ? userAgent : undefined };
});
