import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { Permission } from 'src/common/auth/permission.enum';
import { BuiltInRole } from 'src/common/auth/roles';
import { InstanceRole, RateLimitTier, UserStatus } from 'src/modules/users/user.entity';

/** The run starter's standing now: the user, their role in the run's workspace, and the API key the run was started with. */
export interface StarterRow {
  userId: string;
  email: string;
  name: string;
  personalWorkspaceId: string | null;
  userCreatedAt: Date;
  instanceRole: InstanceRole;
  status: UserStatus;
  rateLimitTier: RateLimitTier;
  memberRole: BuiltInRole | 'custom' | null;
  customPermissions: Permission[] | null;
  keyRevokedAt: Date | null;
  keyExpiresAt: Date | null;
  keyPermissions: Permission[] | null;
}

/**
 * The starter's standing as one SELECT over `$user`, `$workspace` and `$key` (parameter
 * placeholders), so that other statements can read it in the same round trip.
 */
export const starterQuery = (user: string, workspace: string, key: string) => `
  SELECT u.id AS "userId", u.email, u.name, u.personal_workspace_id AS "personalWorkspaceId", u.created_at AS "userCreatedAt",
         u.instance_role AS "instanceRole", u.status, u.rate_limit_tier AS "rateLimitTier",
         m.role AS "memberRole", r.permissions AS "customPermissions",
         k.revoked_at AS "keyRevokedAt", k.expires_at AS "keyExpiresAt", k.permissions AS "keyPermissions"
    FROM users u
    LEFT JOIN workspace_members m ON m.user_id = u.id AND m.workspace_id = ${workspace}
    LEFT JOIN workspace_roles r ON r.id = m.custom_role_id
    LEFT JOIN api_keys k ON k.id = ${key} AND k.user_id = u.id AND k.workspace_id = ${workspace}
   WHERE u.id = ${user}`;

/**
 * Re-reads the starter's access at each step of a run, so that a suspension, a removal from
 * the workspace, a demotion or a revoked key takes effect on the next step.
 */
@Injectable()
export class RunAccessRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  async starter(userId: string, workspaceId: string, apiKeyId: string | null): Promise<StarterRow | null> {
    const rows = await this.dataSource.query<StarterRow[]>(starterQuery('$1', '$2::uuid', '$3::uuid'), [userId, workspaceId, apiKeyId]);
    return rows[0] ?? null;
  }
}
