import { ExecutionContext } from '@nestjs/common';
import { GqlExecutionContext } from '@nestjs/graphql';
import type { GraphQLResolveInfo } from 'graphql';
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
      return graphqlFieldRequest(context);
    case 'ws':
      return context.switchToWs().getClient<{ data: AuthRequest }>().data;
    default:
      return context.switchToHttp().getRequest<AuthRequest>();
  }
}

/** The GraphQL argument that selects a field's workspace, as the `:workspaceId` route parameter does on REST. */
export const WORKSPACE_ARGUMENT = 'workspaceId';

/** Keyed by the field's resolve info, which graphql-js creates once per resolved field. */
const fieldRequests = new WeakMap<GraphQLResolveInfo, AuthRequest>();

/**
 * One GraphQL request resolves several root fields, in parallel, and each may name its own
 * workspace (`members(workspaceId: ...)`). Each field therefore sees its own view of the
 * request: `params.workspaceId` is the field's `workspaceId` argument (the REST route
 * parameter's counterpart) and `auth` is the caller as resolved for that field, so one
 * field's guard never hands its workspace to another field's `@Auth()`.
 */
function graphqlFieldRequest(context: ExecutionContext): AuthRequest {
  const gql = GqlExecutionContext.create(context);
  const request = gql.getContext<{ req: AuthRequest }>().req;
  const info = gql.getInfo<GraphQLResolveInfo | undefined>();
  if (!request || !info) return request;
  let view = fieldRequests.get(info);
  if (!view) {
    view = fieldView(request, gql.getArgs<Record<string, unknown> | undefined>()?.[WORKSPACE_ARGUMENT]);
    fieldRequests.set(info, view);
  }
  return view;
}

function fieldView(request: AuthRequest, workspaceId: unknown): AuthRequest {
  const params = typeof workspaceId === 'string' ? { workspaceId } : {};
  let auth: AuthContext | undefined;
  return new Proxy(request, {
    get(target, key) {
      if (key === 'params') return params;
      if (key === 'auth') return auth;
      return Reflect.get(target, key, target) as unknown;
    },
    // Everything else lands on the shared request, so per-request state (the rate limiter's
    // "already metered" mark) stays per request. `auth` is copied there too: the caller's
    // identity is the same for every field, only its workspace differs.
    set(target, key, value) {
      if (key === 'auth') auth = value as AuthContext | undefined;
      return Reflect.set(target, key, value, target);
    },
  });
}
