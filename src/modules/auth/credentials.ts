import { AuthRequest } from 'src/common/auth/request-context';
import { looksLikeApiKey } from 'src/modules/auth/api-keys/api-key-format';
import { AuthErrorCode, AuthException } from 'src/modules/auth/auth.exception';
import { Credential } from 'src/modules/auth/credential-resolver.service';

export const WORKSPACE_HEADER = 'x-workspace-id';
const MAX_CREDENTIAL_LENGTH = 4096;

/**
 * Reads the credential from `Authorization: Bearer <jwt | api key>` or `X-API-Key`.
 * Returns undefined when none is present; throws on a malformed header (never echoes it).
 */
export function extractCredential(headers: AuthRequest['headers']): Credential | undefined {
  const apiKeyHeader = single(headers['x-api-key']);
  if (apiKeyHeader !== undefined) return { kind: 'api-key', key: bounded(apiKeyHeader) };
  const authorization = single(headers.authorization);
  if (authorization === undefined) return undefined;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(bounded(authorization));
  if (!match) throw new AuthException(AuthErrorCode.InvalidToken, 'Authorization header must be "Bearer <token>"');
  const value = match[1];
  return looksLikeApiKey(value) ? { kind: 'api-key', key: value } : { kind: 'jwt', token: value };
}

/** The workspace a request acts in: the `:workspaceId` route parameter, else the header. */
export function requestedWorkspaceId(request: AuthRequest): string | undefined {
  return request.params?.workspaceId ?? single(request.headers[WORKSPACE_HEADER]);
}

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function bounded(value: string): string {
  if (value.length > MAX_CREDENTIAL_LENGTH) throw new AuthException(AuthErrorCode.InvalidToken, 'Credential is too long');
  return value;
}
