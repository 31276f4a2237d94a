import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { isPromise, rejection } from 'src/common/async/maybe-promise';
import { AUTH_METADATA, AuthenticatedOptions, AuthMetadata } from 'src/common/auth/auth.decorator';
import { AuthContext } from 'src/common/auth/auth-context';
import { AuthRequest, getRequestFromContext } from 'src/common/auth/request-context';
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

  /**
   * A plain `true` when the caller is cached (no promise on the hot path), else a promise;
   * a refusal is always a rejected promise, whichever path found it.
   */
  canActivate(context: ExecutionContext): boolean | Promise<boolean> {
    try {
      return this.activate(context);
    } catch (error) {
      return rejection(error);
    }
  }

  private activate(context: ExecutionContext): boolean | Promise<boolean> {
    const metadata = this.reflector.getAllAndOverride<AuthMetadata | undefined>(AUTH_METADATA, [context.getHandler(), context.getClass()]);
    if (!metadata) throw CommonErrors.forbidden('This endpoint declares no access rule');
    if (metadata.public) return true;

    const request = getRequestFromContext(context);
    // Sockets are authenticated once, at the handshake (see the realtime gateway); each
    // message is still held to its declared permission below.
    const auth = context.getType() === 'ws' ? request.auth : this.authenticate(request);
    return isPromise(auth) ? auth.then((resolved) => admit(request, resolved, metadata)) : admit(request, auth, metadata);
  }

  /**
   * Resolves the request's credential afresh and holds it to `rule`. Live GraphQL
   * subscriptions call this before every event, so a revoked key, a suspended account or a
   * removed member stops receiving at once.
   */
  async authorize(request: AuthRequest, rule: AuthenticatedOptions): Promise<AuthContext> {
    const auth = await this.authenticate(request);
    checkRule(auth, rule);
    return auth;
  }

  private authenticate(request: AuthRequest): AuthContext | Promise<AuthContext> {
    const credential = extractCredential(request.headers);
    if (!credential) throw CommonErrors.unauthenticated();
    return this.resolver.resolveNow(credential, requestedWorkspaceId(request));
  }
}

function admit(request: AuthRequest, auth: AuthContext | undefined, rule: AuthenticatedOptions): true {
  if (!auth) throw CommonErrors.unauthenticated();
  checkRule(auth, rule);
  request.auth = auth;
  return true;
}

function checkRule(auth: AuthContext, rule: AuthenticatedOptions): void {
  if (rule.sessionOnly && auth.apiKeyId) {
    throw new AuthException(AuthErrorCode.ApiKeyNotAllowed, 'This endpoint needs a signed-in user, not an API key');
  }
  if (rule.permission && !auth.permissions.has(rule.permission)) {
    throw CommonErrors.forbidden(`Missing permission ${rule.permission}`);
  }
}
