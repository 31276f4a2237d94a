import { ExecutionContext } from '@nestjs/common';
import { GqlExecutionContext } from '@nestjs/graphql';
import { AuthContext } from 'src/common/auth/auth-context';

/** The parts of an incoming request that auth needs, whatever the transport. */
export interface AuthRequest {
  headers: Record<string, string | string[] | undefined>;
  params?: Record<string, string | undefined>;
  ip?: string;
  auth?: AuthContext;
}

export function getRequestFromContext(context: ExecutionContext): AuthRequest {
  switch (context.getType<'http' | 'graphql' | 'ws' | 'rpc'>()) {
    case 'graphql':
      return GqlExecutionContext.create(context).getContext<{ req: AuthRequest }>().req;
    case 'ws':
      return context.switchToWs().getClient<{ data: AuthRequest }>().data;
    default:
      return context.switchToHttp().getRequest<AuthRequest>();
  }
}
