import { Injectable } from '@nestjs/common';
import { AuthContext } from 'src/common/auth/auth-context';
import { Permission } from 'src/common/auth/permission.enum';
import { BUILT_IN_ROLE_PERMISSIONS, INSTANCE_ADMIN_PERMISSIONS } from 'src/common/auth/roles';
import { AgentsErrorCode, AgentsException } from 'src/modules/agents/agents.exception';
import type { AgentRun } from 'src/modules/agents/runs/agent-run.entity';
import { RunAccessRepository, StarterRow } from 'src/modules/agents/runs/run-access.repository';
import { InstanceRole, UserStatus } from 'src/modules/users/user.entity';

const revoked = (message: string) => new AgentsException(AgentsErrorCode.AccessRevoked, message);

/**
 * The permissions a run's steps act with: what the starter may do in the workspace now,
 * narrowed by what they (and their API key) could do when the run began. Read again before
 * every step, so access taken away mid-run is gone for the next model or tool call.
 */
@Injectable()
export class RunAccess {
  constructor(private readonly repository: RunAccessRepository) {}

  async contextFor(run: Pick<AgentRun, 'userId' | 'workspaceId' | 'apiKeyId' | 'permissions'>): Promise<AuthContext> {
    return this.fromRow(run, await this.repository.starter(run.userId, run.workspaceId, run.apiKeyId));
  }

  /** The context from the starter's row as read with a step's reservation (dates may come as JSON strings). */
  fromRow(run: Pick<AgentRun, 'workspaceId' | 'apiKeyId' | 'permissions'>, row: StarterRow | null): AuthContext {
    if (!row) throw revoked('The account that started the run no longer exists');
    if (row.status !== UserStatus.Active) throw revoked('The account that started the run is suspended');
    if (row.memberRole === null) throw revoked('The user who started the run is no longer a member of its workspace');
    const now = new Set<Permission>(
      row.memberRole === 'custom' ? (row.customPermissions ?? []) : BUILT_IN_ROLE_PERMISSIONS[row.memberRole],
    );
    if (row.instanceRole === InstanceRole.Admin) INSTANCE_ADMIN_PERMISSIONS.forEach((permission) => now.add(permission));
    let permissions = run.permissions.filter((permission) => now.has(permission));
    if (run.apiKeyId) {
      if (row.keyPermissions === null) throw revoked('The API key the run was started with no longer exists');
      if (row.keyRevokedAt) throw revoked('The API key the run was started with has been revoked');
      if (row.keyExpiresAt && new Date(row.keyExpiresAt) <= new Date()) throw revoked('The API key the run was started with has expired');
      const keyPermissions = new Set(row.keyPermissions);
      permissions = permissions.filter((permission) => keyPermissions.has(permission));
    }
    const granted = new Set(permissions);
    if (!granted.has(Permission.ModelInvoke) || !granted.has(Permission.WorkflowRun)) {
      throw revoked(`The user who started the run no longer holds ${Permission.WorkflowRun} and ${Permission.ModelInvoke}`);
    }
    return {
      userId: row.userId,
      email: row.email,
      profile: {
        name: row.name,
        personalWorkspaceId: row.personalWorkspaceId,
        createdAt: new Date(row.userCreatedAt),
        rateLimitTier: row.rateLimitTier,
      },
      instanceRole: row.instanceRole,
      workspaceId: run.workspaceId,
      permissions: granted,
      rateLimitTier: row.rateLimitTier,
      ...(run.apiKeyId && { apiKeyId: run.apiKeyId }),
    };
  }
}
