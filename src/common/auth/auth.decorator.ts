import { applyDecorators, createParamDecorator, ExecutionContext, SetMetadata } from '@nestjs/common';
import { ApiBearerAuth, ApiSecurity } from '@nestjs/swagger';
import { AuthContext } from 'src/common/auth/auth-context';
import { Permission } from 'src/common/auth/permission.enum';
import { getRequestFromContext } from 'src/common/auth/request-context';

export const AUTH_METADATA = 'gremlins:auth';

export interface AuthenticatedOptions {
  /** Permission the caller needs in the request's workspace; omit for "any signed-in caller". */
  permission?: Permission;
  /** Reject API keys (for routes that manage credentials or the account itself). */
  sessionOnly?: boolean;
}

export type AuthMetadata = { public: true } | ({ public: false } & AuthenticatedOptions);

/** Every route declares this or `@Public()`; the endpoint snapshot test enforces it. */
export const Authenticated = (options: AuthenticatedOptions = {}) =>
  applyDecorators(
    SetMetadata(AUTH_METADATA, { public: false, ...options } satisfies AuthMetadata),
    ApiBearerAuth(),
    ...(options.sessionOnly ? [] : [ApiSecurity('api-key')]),
  );

export const Public = () => SetMetadata(AUTH_METADATA, { public: true } satisfies AuthMetadata);

/** The resolved caller; only on routes declared `@Authenticated`. */
export const Auth = createParamDecorator((_: unknown, context: ExecutionContext): AuthContext => {
  const auth = getRequestFromContext(context).auth;
  if (!auth) throw new Error('@Auth() used on a route without @Authenticated()');
  return auth;
});
