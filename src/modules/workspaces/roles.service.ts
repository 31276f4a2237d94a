import { Injectable } from '@nestjs/common';
import { AuthContext } from 'src/common/auth/auth-context';
import { WORKSPACE_PERMISSIONS } from 'src/common/auth/permission.enum';
import { CommonErrors } from 'src/common/errors/app.exception';
import { AppEvents } from 'src/common/events/app-events';
import { AuditAction } from 'src/modules/audit/audit-event.entity';
import { AuditService } from 'src/modules/audit/audit.service';
import { assertHoldsAll } from 'src/modules/workspaces/members.service';
import { CreateRoleDto, RoleDto, UpdateRoleDto } from 'src/modules/workspaces/workspaces.dto';
import { WorkspacesErrorCode, WorkspacesException } from 'src/modules/workspaces/workspaces.exception';
import { WorkspacesRepository } from 'src/modules/workspaces/workspaces.repository';

/** Custom roles: a workspace's own named permission sets, drawn from workspace permissions only. */
@Injectable()
export class RolesService {
  constructor(
    private readonly workspaces: WorkspacesRepository,
    private readonly audit: AuditService,
    private readonly events: AppEvents,
  ) {}

  async list(auth: AuthContext): Promise<RoleDto[]> {
    return (await this.workspaces.listRoles(auth.workspaceId)).map((role) => RoleDto.from(role));
  }

  async create(auth: AuthContext, dto: CreateRoleDto): Promise<RoleDto> {
    const permissions = checkPermissions(auth, dto.permissions);
    const role = await this.workspaces.createRole({ workspaceId: auth.workspaceId, name: dto.name, permissions }).catch(rethrowNameTaken);
    await this.audit.record({
      action: AuditAction.WorkspaceRoleCreated,
      actor: auth,
      target: { type: 'role', id: role.id },
      workspaceId: auth.workspaceId,
      metadata: { name: role.name, permissions },
    });
    return RoleDto.from(role);
  }

  async update(auth: AuthContext, roleId: string, dto: UpdateRoleDto): Promise<RoleDto> {
    const role = await this.require(auth.workspaceId, roleId);
    assertHoldsAll(auth, role.permissions);
    const permissions = dto.permissions && checkPermissions(auth, dto.permissions);
    await this.workspaces.updateRole(auth.workspaceId, roleId, { name: dto.name, permissions }).catch(rethrowNameTaken);
    await this.events.emit('access.changed', { reason: 'role-updated' });
    await this.audit.record({
      action: AuditAction.WorkspaceRoleUpdated,
      actor: auth,
      target: { type: 'role', id: roleId },
      workspaceId: auth.workspaceId,
      metadata: { ...dto },
    });
    return RoleDto.from(await this.require(auth.workspaceId, roleId));
  }

  async delete(auth: AuthContext, roleId: string): Promise<void> {
    await this.require(auth.workspaceId, roleId);
    if ((await this.workspaces.countRoleMembers(auth.workspaceId, roleId)) > 0) {
      throw new WorkspacesException(WorkspacesErrorCode.RoleInUse, 'Members still hold this role; reassign them first');
    }
    await this.workspaces.deleteRole(auth.workspaceId, roleId);
    await this.events.emit('access.changed', { reason: 'role-deleted' });
    await this.audit.record({
      action: AuditAction.WorkspaceRoleDeleted,
      actor: auth,
      target: { type: 'role', id: roleId },
      workspaceId: auth.workspaceId,
    });
  }

  private async require(workspaceId: string, roleId: string) {
    const role = await this.workspaces.findRole(workspaceId, roleId);
    if (!role) throw CommonErrors.notFound('Role');
    return role;
  }
}

function checkPermissions(auth: AuthContext, requested: CreateRoleDto['permissions']): CreateRoleDto['permissions'] {
  const unique = [...new Set(requested)].sort();
  const instanceLevel = unique.filter((permission) => !WORKSPACE_PERMISSIONS.includes(permission));
  if (instanceLevel.length > 0) {
    throw new WorkspacesException(WorkspacesErrorCode.InvalidRolePermissions, `Not workspace permissions: ${instanceLevel.join(', ')}`);
  }
  assertHoldsAll(auth, unique);
  return unique;
}

function rethrowNameTaken(error: unknown): never {
  if ((error as { code?: string }).code === '23505') {
    throw new WorkspacesException(WorkspacesErrorCode.RoleNameTaken, 'A role with this name already exists in the workspace');
  }
  throw error;
}
