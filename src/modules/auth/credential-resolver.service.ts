import { Injectable, Logger } from '@nestjs/common';
import { AuthContext } from 'src/common/auth/auth-context';
import { Permission } from 'src/common/auth/permission.enum';
import { BUILT_IN_ROLE_PERMISSIONS, INSTANCE_ADMIN_PERMISSIONS } from 'src/common/auth/roles';
import { CommonErrors } from 'src/common/errors/app.exception';
import { AccessCache } from 'src/modules/auth/access-cache.service';
import { parseApiKey } from 'src/modules/auth/api-keys/api-key-format';
import { AuthErrorCode, AuthException } from 'src/modules/auth/auth.exception';
import { ApiKeyCallerRow, CallerRow, CredentialsRepository, SessionCallerRow } from 'src/modules/auth/credentials.repository';
import { secretMatches } from 'src/modules/auth/tokens/opaque-token';
import { AccessTokenClaims, TokenService } from 'src/modules/auth/tokens/token.service';
import { InstanceRole, RateLimitTier, UserStatus } from 'src/modules/users/user.entity';

/** `last_used_at` is informational; writing it once a minute per key is plenty. */
const API_KEY_TOUCH_INTERVAL_MS = 60_000;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export type Credential = { kind: 'jwt'; token: string } | { kind: 'api-key'; key: string };

/**
 * Turns a presented credential into an `AuthContext`, for HTTP, GraphQL and socket
 * handshakes alike. Every rejection is a 401/403/404 with a code; nothing here trusts a
 * claim it did not verify against the database (or the invalidated-on-change AccessCache).
 */
@Injectable()
export class CredentialResolver {
  private readonly logger = new Logger(CredentialResolver.name);
  private readonly lastTouched = new Map<string, number>();
  private readonly contexts = new WeakMap<CallerRow, AuthContext>();

  constructor(
    private readonly tokens: TokenService,
    private readonly credentials: CredentialsRepository,
    private readonly cache: AccessCache,
  ) {}

  async resolve(credential: Credential, requestedWorkspaceId?: string): Promise<AuthContext> {
    return this.resolveNow(credential, requestedWorkspaceId);
  }

  /**
   * Like `resolve`, but answers without a promise when the caller is in the AccessCache: the
   * guard on every request then costs no microtask hops (Nest accepts a guard's plain boolean).
   */
  resolveNow(credential: Credential, requestedWorkspaceId?: string): AuthContext | Promise<AuthContext> {
    if (requestedWorkspaceId !== undefined && !UUID.test(requestedWorkspaceId)) throw CommonErrors.notFound('Workspace');
    return credential.kind === 'jwt'
      ? this.fromAccessToken(credential.token, requestedWorkspaceId ?? null)
      : this.fromApiKey(credential.key, requestedWorkspaceId);
  }

  private fromAccessToken(token: string, workspaceId: string | null): AuthContext | Promise<AuthContext> {
    const claims = this.tokens.verifyAccessToken(token);
    if (!UUID.test(claims.sub) || !UUID.test(claims.sid)) throw new AuthException(AuthErrorCode.InvalidToken, 'Access token is invalid');
    const key = `session:${claims.sid}:${workspaceId ?? ''}`;
    const cached = this.cache.get<SessionCallerRow>(key);
    if (cached) return this.sessionContext(cached, claims, workspaceId);
    return this.loadSessionCaller(key, claims, workspaceId);
  }

  private async loadSessionCaller(key: string, claims: AccessTokenClaims, workspaceId: string | null): Promise<AuthContext> {
    const epoch = this.cache.currentEpoch();
    const row = await this.credentials.findSessionCaller(claims.sub, claims.sid, workspaceId);
    if (row && isUsableSession(row) && row.status === UserStatus.Active && row.memberRole !== null) this.cache.set(key, row, epoch);
    return this.sessionContext(row ?? undefined, claims, workspaceId);
  }

  private sessionContext(row: SessionCallerRow | undefined, claims: AccessTokenClaims, workspaceId: string | null): AuthContext {
    if (!row || row.userId !== claims.sub || !isUsableSession(row)) {
      throw new AuthException(AuthErrorCode.InvalidToken, 'Session has ended; sign in again');
    }
    assertActive(row);
    return this.memoized(row, () => ({ ...buildContext(row, workspaceId), sessionId: claims.sid }));
  }

  private fromApiKey(presented: string, requestedWorkspaceId: string | undefined): AuthContext | Promise<AuthContext> {
    const parsed = parseApiKey(presented);
    if (!parsed) throw invalidKey('API key is invalid');
    const key = `api-key:${parsed.prefix}`;
    const cached = this.cache.get<ApiKeyCallerRow>(key);
    if (cached) return this.apiKeyContext(cached, parsed.secret, requestedWorkspaceId);
    return this.loadApiKeyCaller(key, parsed.prefix, parsed.secret, requestedWorkspaceId);
  }

  private async loadApiKeyCaller(
    key: string,
    prefix: string,
    secret: string,
    requestedWorkspaceId: string | undefined,
  ): Promise<AuthContext> {
    const epoch = this.cache.currentEpoch();
    const row = await this.credentials.findApiKeyCaller(prefix);
    if (row && !row.revokedAt && row.status === UserStatus.Active && row.memberRole !== null) this.cache.set(key, row, epoch);
    return this.apiKeyContext(row ?? undefined, secret, requestedWorkspaceId);
  }

  private apiKeyContext(row: ApiKeyCallerRow | undefined, secret: string, requestedWorkspaceId: string | undefined): AuthContext {
    if (!row || !secretMatches(secret, row.secretHash)) throw invalidKey('API key is invalid');
    if (row.revokedAt) throw invalidKey('API key has been revoked');
    if (row.expiresAt && row.expiresAt <= new Date()) throw invalidKey('API key has expired');
    assertActive(row);
    if (row.memberRole === null) throw invalidKey("API key's owner is no longer a member of its workspace");
    // A key acts in its own workspace only.
    if (requestedWorkspaceId !== undefined && requestedWorkspaceId !== row.workspaceId) throw CommonErrors.notFound('Workspace');
    this.touch(row.keyId);
    return this.memoized(row, () => {
      const context = buildContext(row, row.workspaceId);
      // Narrowed by what the owner may do *now*: a demoted owner's keys shrink with them.
      const keyPermissions = new Set(row.keyPermissions);
      const permissions = new Set([...context.permissions].filter((p) => keyPermissions.has(p)));
      const rateLimitTier = row.keyRateLimitTier === RateLimitTier.Unlimited ? RateLimitTier.Unlimited : context.rateLimitTier;
      return { ...context, permissions, apiKeyId: row.keyId, rateLimitTier };
    });
  }

  /**
   * One context per cached caller row: a row stands for exactly one (credential, workspace)
   * pair, and a change to the caller replaces the row (AccessCache invalidation), so the
   * context built from it stays right for as long as the row is served. Contexts are
   * read-only by type; sharing them between requests spares a permission set per request.
   */
  private memoized(row: CallerRow, build: () => AuthContext): AuthContext {
    let context = this.contexts.get(row);
    if (!context) {
      context = build();
      this.contexts.set(row, context);
    }
    return context;
  }

  private touch(keyId: string): void {
    const now = Date.now();
    if (now - (this.lastTouched.get(keyId) ?? 0) < API_KEY_TOUCH_INTERVAL_MS) return;
    this.lastTouched.set(keyId, now);
    this.credentials.touchApiKey(keyId).catch((error: unknown) => this.logger.warn(`Could not record API key use: ${String(error)}`));
  }
}

const invalidKey = (message: string) => new AuthException(AuthErrorCode.InvalidApiKey, message);

function isUsableSession(row: SessionCallerRow): boolean {
  return !row.sessionRevokedAt && row.sessionExpiresAt > new Date();
}

function assertActive(row: CallerRow): void {
  if (row.status !== UserStatus.Active) throw new AuthException(AuthErrorCode.AccountSuspended, 'This account is suspended');
}

function buildContext(row: CallerRow, requestedWorkspaceId: string | null): AuthContext {
  // Asking for a workspace you are not in looks exactly like asking for one that does not exist.
  if ((row.memberRole === null || row.workspaceId === null) && requestedWorkspaceId !== null) throw CommonErrors.notFound('Workspace');
  const permissions = new Set<Permission>(
    row.memberRole === 'custom' ? (row.customPermissions ?? []) : row.memberRole ? BUILT_IN_ROLE_PERMISSIONS[row.memberRole] : [],
  );
  if (row.instanceRole === InstanceRole.Admin) INSTANCE_ADMIN_PERMISSIONS.forEach((p) => permissions.add(p));
  return {
    userId: row.userId,
    email: row.email,
    profile: {
      name: row.name,
      personalWorkspaceId: row.personalWorkspaceId,
      createdAt: row.userCreatedAt,
      rateLimitTier: row.rateLimitTier,
    },
    instanceRole: row.instanceRole,
    workspaceId: row.workspaceId ?? '',
    permissions,
    rateLimitTier: row.rateLimitTier,
  };
}
