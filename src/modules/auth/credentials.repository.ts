import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { BuiltInRole } from 'src/common/auth/roles';
import { Permission } from 'src/common/auth/permission.enum';
import { InstanceRole, RateLimitTier, UserStatus } from 'src/modules/users/user.entity';

/** The user, their standing and their role in one workspace: everything a request needs. */
export interface CallerRow {
  userId: string;
  email: string;
  name: string;
  personalWorkspaceId: string | null;
  userCreatedAt: Date;
  instanceRole: InstanceRole;
  status: UserStatus;
  rateLimitTier: RateLimitTier;
  workspaceId: string | null;
  /** Null when the user is not a member of the workspace. */
  memberRole: BuiltInRole | 'custom' | null;
  customPermissions: Permission[] | null;
}

export interface SessionCallerRow extends CallerRow {
  sessionRevokedAt: Date | null;
  sessionExpiresAt: Date;
}

export interface ApiKeyCallerRow extends CallerRow {
  keyId: string;
  secretHash: string;
  keyPermissions: Permission[];
  keyRateLimitTier: RateLimitTier;
  expiresAt: Date | null;
  revokedAt: Date | null;
  lastUsedAt: Date | null;
}

const callerColumns = (workspaceColumn: string) => `
  u.id AS "userId", u.email, u.name, u.personal_workspace_id AS "personalWorkspaceId", u.created_at AS "userCreatedAt",
  u.instance_role AS "instanceRole", u.status,
  u.rate_limit_tier AS "rateLimitTier", ${workspaceColumn} AS "workspaceId",
  m.role AS "memberRole", r.permissions AS "customPermissions"`;

/**
 * The hot path of every authenticated request: one round trip per credential, joining the
 * user, the session or key, and the membership, so that suspension, logout and role changes
 * take effect on the very next request.
 */
@Injectable()
export class CredentialsRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  async findSessionCaller(userId: string, sessionId: string, workspaceId: string | null): Promise<SessionCallerRow | null> {
    const rows = await this.dataSource.query<SessionCallerRow[]>(
      `SELECT ${callerColumns('m.workspace_id')}, s.revoked_at AS "sessionRevokedAt", s.expires_at AS "sessionExpiresAt"
         FROM users u
         JOIN sessions s ON s.id = $2 AND s.user_id = u.id
         LEFT JOIN workspace_members m ON m.user_id = u.id AND m.workspace_id = COALESCE($3::uuid, u.personal_workspace_id)
         LEFT JOIN workspace_roles r ON r.id = m.custom_role_id
        WHERE u.id = $1`,
      [userId, sessionId, workspaceId],
    );
    return rows[0] ?? null;
  }

  async findApiKeyCaller(prefix: string): Promise<ApiKeyCallerRow | null> {
    const rows = await this.dataSource.query<ApiKeyCallerRow[]>(
      `SELECT ${callerColumns('k.workspace_id')}, k.id AS "keyId", k.secret_hash AS "secretHash", k.permissions AS "keyPermissions",
              k.rate_limit_tier AS "keyRateLimitTier", k.expires_at AS "expiresAt", k.revoked_at AS "revokedAt",
              k.last_used_at AS "lastUsedAt"
         FROM api_keys k
         JOIN users u ON u.id = k.user_id
         LEFT JOIN workspace_members m ON m.user_id = k.user_id AND m.workspace_id = k.workspace_id
         LEFT JOIN workspace_roles r ON r.id = m.custom_role_id
        WHERE k.prefix = $1`,
      [prefix],
    );
    return rows[0] ?? null;
  }

  async touchApiKey(keyId: string): Promise<void> {
    await this.dataSource.query('UPDATE api_keys SET last_used_at = now() WHERE id = $1', [keyId]);
  }
}
