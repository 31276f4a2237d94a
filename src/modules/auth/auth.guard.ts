import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { AUTH_METADATA, AuthMetadata } from 'src/common/auth/auth.decorator';
import { getRequestFromContext } from 'src/common/auth/request-context';
import { CommonErrors } from 'src/common/errors/app.exception';
import { AuthErrorCode, AuthException } from 'src/modules/auth/auth.exception';
import { CredentialResolver } from 'src/modules/auth/credential-resolver.service';
import { extractCredential, requestedWorkspaceId } from 'src/modules/auth/credentials';

/**
 * Global guard for REST and GraphQL. Fails closed: a handler that declares neither
 * `@Authenticated()` nor `@Public()` is unreachable.
 */
@Injectable()
export class AuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly resolver: CredentialResolver,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const metadata = this.reflector.getAllAndOverride<AuthMetadata | undefined>(AUTH_METADATA, [context.getHandler(), context.getClass()]);
    if (!metadata) throw CommonErrors.forbidden('This endpoint declares no access rule');
    if (metadata.public) return true;
    // Socket handlers are authenticated once, at the handshake (see the realtime gateway).
    if (context.getType() === 'ws') return true;

    const request = getRequestFromContext(context);
    const credential = extractCredential(request.headers);
    if (!credential) throw CommonErrors.unauthenticated();
    const auth = await this.resolver.resolve(credential, requestedWorkspaceId(request));
    if (metadata.sessionOnly && auth.apiKeyId) {
      throw new AuthException(AuthErrorCode.ApiKeyNotAllowed, 'This endpoint needs a signed-in user, not an API key');
    }
    if (metadata.permission && !auth.permissions.has(metadata.permission)) {
      throw CommonErrors.forbidden(`Missing permission ${metadata.permission}`);
    }
    request.auth = auth;
    return true;
  }
}
