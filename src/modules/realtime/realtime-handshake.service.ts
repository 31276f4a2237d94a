import { Injectable, Logger } from '@nestjs/common';
import type { Socket } from 'socket.io';
import { AuthContext } from 'src/common/auth/auth-context';
import { CommonErrors } from 'src/common/errors/app.exception';
import { ErrorBody, toErrorBody } from 'src/common/errors/error-body';
import { looksLikeApiKey } from 'src/modules/auth/api-keys/api-key-format';
import { AuthErrorCode, AuthException } from 'src/modules/auth/auth.exception';
import { Credential, CredentialResolver } from 'src/modules/auth/credential-resolver.service';
import { extractCredential, WORKSPACE_HEADER } from 'src/modules/auth/credentials';

const MAX_CREDENTIAL_LENGTH = 4096;

/** What a refused client sees: `connect_error` with `err.message` and this as `err.data`. */
export type ConnectError = Error & { data: ErrorBody };

/**
 * Authenticates a Socket.IO handshake exactly like an HTTP request: the same credentials
 * (in `auth.token` or the usual headers), the same resolver, the same error codes.
 */
@Injectable()
export class RealtimeHandshake {
  private readonly logger = new Logger('Realtime');

  constructor(private readonly resolver: CredentialResolver) {}

  async authenticate(handshake: Pick<Socket['handshake'], 'auth' | 'headers'>): Promise<AuthContext> {
    const auth = (handshake.auth ?? {}) as Record<string, unknown>;
    const credential = credentialFromAuth(auth.token) ?? extractCredential(handshake.headers);
    if (!credential) throw CommonErrors.unauthenticated('Send a token in the handshake: auth: { token }');
    return this.resolver.resolve(credential, workspaceFrom(auth.workspaceId, handshake.headers[WORKSPACE_HEADER]));
  }

  toConnectError(error: unknown): ConnectError {
    const body = toErrorBody(error);
    if (body.statusCode >= 500) this.logger.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
    return Object.assign(new Error(body.message), { data: body });
  }
}

function credentialFromAuth(token: unknown): Credential | undefined {
  if (token === undefined || token === null) return undefined;
  if (typeof token !== 'string' || token.length === 0 || token.length > MAX_CREDENTIAL_LENGTH) {
    throw new AuthException(AuthErrorCode.InvalidToken, 'auth.token must be a JWT or an API key');
  }
  // Tolerate clients that pass the header value verbatim.
  const value = token.replace(/^Bearer\s+/i, '');
  return looksLikeApiKey(value) ? { kind: 'api-key', key: value } : { kind: 'jwt', token: value };
}

function workspaceFrom(fromAuth: unknown, fromHeader: string | string[] | undefined): string | undefined {
  if (fromAuth !== undefined && fromAuth !== null) {
    if (typeof fromAuth !== 'string') throw CommonErrors.validation('auth.workspaceId must be a string');
    return fromAuth;
  }
  return Array.isArray(fromHeader) ? fromHeader[0] : fromHeader;
}
