import { Injectable } from '@nestjs/common';
import { AuthContext } from 'src/common/auth/auth-context';
import { Permission } from 'src/common/auth/permission.enum';
import { BuiltInRole, BUILT_IN_ROLE_PERMISSIONS } from 'src/common/auth/roles';
import { CommonErrors } from 'src/common/errors/app.exception';
import { AppEvents } from 'src/common/events/app-events';
import { AuditAction } from 'src/modules/audit/audit-event.entity';
import { AuditService } from 'src/modules/audit/audit.service';
import { UsersRepository } from 'src/modules/users/users.repository';
import { WorkspaceMember } from 'src/modules/workspaces/workspace-member.entity';
import { AddMemberDto, MemberDto, SetMemberRoleDto } from 'src/modules/workspaces/workspaces.dto';
import { WorkspacesErrorCode, WorkspacesException } from 'src/modules/workspaces/workspaces.exception';
import { WorkspacesRepository } from 'src/modules/workspaces/workspaces.repository';

/**
 * Membership changes. Nobody grants more than they hold: only owners touch owners, and a
 * custom role may only be handed out by someone holding all of its permissions.
 */
@Injectable()
export class MembersService {
  constructor(
    private readonly workspaces: WorkspacesRepository,
    private readonly users: UsersRepository,
    private readonly audit: AuditService,
    private readonly events: AppEvents,
  ) {}

  list(auth: AuthContext): Promise<MemberDto[]> {
    return this.workspaces.listMembers(auth.workspaceId);
  }

  async add(auth: AuthContext, dto: AddMemberDto): Promise<MemberDto> {
    const role = await this.checkAssignable(auth, dto);
    const user = await this.users.findByEmail(dto.email);
    if (!user) throw CommonErrors.notFound('User');
    if (await this.workspaces.findMember(auth.workspaceId, user.id)) {
      throw new WorkspacesException(WorkspacesErrorCode.AlreadyMember, 'This user is already a member');
    }
    await this.workspaces.addMember({ workspaceId: auth.workspaceId, userId: user.id, ...role });
    await this.audit.record({
      action: AuditAction.MemberAdded,
      actor: auth,
      target: { type: 'user', id: user.id },
      workspaceId: auth.workspaceId,
      metadata: { ...role },
    });
    await this.events.emit('workspace.member.changed', {
      workspaceId: auth.workspaceId,
      userId: user.id,
      change: 'added',
      ...role,
      actorUserId: auth.userId,
    });
    return this.requireMemberDto(auth.workspaceId, user.id);
  }

  async setRole(auth: AuthContext, userId: string, dto: SetMemberRoleDto): Promise<MemberDto> {
    const member = await this.requireMember(auth.workspaceId, userId);
    const role = await this.checkAssignable(auth, dto);
    await this.checkCanChange(auth, member, role.role);
    await this.workspaces.updateMember(auth.workspaceId, userId, role.role, role.customRoleId);
    await this.audit.record({
      action: AuditAction.MemberRoleChanged,
      actor: auth,
      target: { type: 'user', id: userId },
      workspaceId: auth.workspaceId,
      metadata: { from: member.role, to: role.role, customRoleId: role.customRoleId },
    });
    await this.events.emit('workspace.member.changed', {
      workspaceId: auth.workspaceId,
      userId,
      change: 'role-changed',
      ...role,
      actorUserId: auth.userId,
    });
    return this.requireMemberDto(auth.workspaceId, userId);
  }

  async remove(auth: AuthContext, userId: string): Promise<void> {
    const member = await this.requireMember(auth.workspaceId, userId);
    await this.checkCanChange(auth, member, null);
    await this.workspaces.removeMember(auth.workspaceId, userId);
    await this.audit.record({
      action: AuditAction.MemberRemoved,
      actor: auth,
      target: { type: 'user', id: userId },
      workspaceId: auth.workspaceId,
    });
    await this.events.emit('workspace.member.changed', {
      workspaceId: auth.workspaceId,
      userId,
      change: 'removed',
      role: null,
      customRoleId: null,
      actorUserId: auth.userId,
    });
  }

  private async checkAssignable(auth: AuthContext, dto: SetMemberRoleDto): Promise<Pick<WorkspaceMember, 'role' | 'customRoleId'>> {
    if (dto.role === 'custom') {
      const custom = dto.customRoleId ? await this.workspaces.findRole(auth.workspaceId, dto.customRoleId) : null;
      if (!custom) throw CommonErrors.notFound('Role');
      assertHoldsAll(auth, custom.permissions);
      return { role: 'custom', customRoleId: custom.id };
    }
    if (dto.customRoleId) throw CommonErrors.validation('customRoleId is only valid with role "custom"');
    const actorRole = await this.actorRole(auth);
    if (dto.role === BuiltInRole.Owner && actorRole !== BuiltInRole.Owner) {
      throw new WorkspacesException(WorkspacesErrorCode.RoleAboveOwn, 'Only an owner can make someone an owner');
    }
    assertHoldsAll(auth, BUILT_IN_ROLE_PERMISSIONS[dto.role]);
    return { role: dto.role, customRoleId: null };
  }

  /** Owners can only be changed by owners, and the last owner cannot step down or leave. */
  private async checkCanChange(auth: AuthContext, member: WorkspaceMember, newRole: WorkspaceMember['role'] | null): Promise<void> {
    if (member.role !== BuiltInRole.Owner) return;
    if ((await this.actorRole(auth)) !== BuiltInRole.Owner) {
      throw new WorkspacesException(WorkspacesErrorCode.RoleAboveOwn, 'Only an owner can change another owner');
    }
    if (newRole !== BuiltInRole.Owner && (await this.workspaces.countOwners(auth.workspaceId)) <= 1) {
      throw new WorkspacesException(WorkspacesErrorCode.LastOwner, 'A workspace must keep at least one owner');
    }
  }

  private async actorRole(auth: AuthContext): Promise<WorkspaceMember['role'] | null> {
    const actor = await this.workspaces.findMember(auth.workspaceId, auth.userId);
    return actor?.role ?? null;
  }

  private async requireMember(workspaceId: string, userId: string): Promise<WorkspaceMember> {
    const member = await this.workspaces.findMember(workspaceId, userId);
    if (!member) throw CommonErrors.notFound('Member');
    return member;
  }

  private async requireMemberDto(workspaceId: string, userId: string): Promise<MemberDto> {
    const member = (await this.workspaces.listMembers(workspaceId)).find((candidate) => candidate.userId === userId);
    if (!member) throw CommonErrors.notFound('Member');
    return member;
  }
}

export function assertHoldsAll(auth: AuthContext, permissions: readonly Permission[]): void {
  const missing = permissions.filter((permission) => !auth.permissions.has(permission));
  if (missing.length > 0) {
    throw new WorkspacesException(WorkspacesErrorCode.RoleAboveOwn, `You cannot grant permissions you do not hold: ${missing.join(', ')}`);
  }
}
