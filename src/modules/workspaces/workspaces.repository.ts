import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { BuiltInRole } from 'src/common/auth/roles';
import { User } from 'src/modules/users/user.entity';
import { WorkspaceMember } from 'src/modules/workspaces/workspace-member.entity';
import { WorkspaceRole } from 'src/modules/workspaces/workspace-role.entity';
import { Workspace } from 'src/modules/workspaces/workspace.entity';

export interface WorkspaceWithRole extends Workspace {
  role: BuiltInRole | 'custom';
  customRoleId: string | null;
}

export interface MemberWithUser extends WorkspaceMember {
  email: string;
  name: string;
}

/** Workspaces, memberships and custom roles; every tenant-scoped call takes the workspace id. */
@Injectable()
export class WorkspacesRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  async listForUser(userId: string): Promise<WorkspaceWithRole[]> {
    const rows = await this.dataSource
      .createQueryBuilder(Workspace, 'w')
      .innerJoin(WorkspaceMember, 'm', 'm.workspaceId = w.id AND m.userId = :userId', { userId })
      .addSelect(['m.role', 'm.customRoleId'])
      .orderBy('w.personal', 'DESC')
      .addOrderBy('w.createdAt', 'ASC')
      .getRawAndEntities();
    const raw = rows.raw as { m_role: WorkspaceWithRole['role']; m_custom_role_id: string | null }[];
    return rows.entities.map((workspace, index) => ({ ...workspace, role: raw[index].m_role, customRoleId: raw[index].m_custom_role_id }));
  }

  async createWithOwner(name: string, ownerId: string): Promise<Workspace> {
    return this.dataSource.transaction(async (manager) => {
      const workspace = await manager.save(manager.create(Workspace, { name, personal: false, createdById: ownerId }));
      await manager.insert(WorkspaceMember, { workspaceId: workspace.id, userId: ownerId, role: BuiltInRole.Owner, customRoleId: null });
      return workspace;
    });
  }

  findById(workspaceId: string): Promise<Workspace | null> {
    return this.dataSource.getRepository(Workspace).findOneBy({ id: workspaceId });
  }

  async rename(workspaceId: string, name: string): Promise<void> {
    await this.dataSource.getRepository(Workspace).update({ id: workspaceId }, { name });
  }

  async delete(workspaceId: string): Promise<void> {
    await this.dataSource.getRepository(Workspace).delete({ id: workspaceId, personal: false });
  }

  listMembers(workspaceId: string): Promise<MemberWithUser[]> {
    return this.dataSource
      .createQueryBuilder(WorkspaceMember, 'm')
      .innerJoin(User, 'u', 'u.id = m.userId')
      .select([
        'm.workspaceId AS "workspaceId"',
        'm.userId AS "userId"',
        'm.role AS role',
        'm.customRoleId AS "customRoleId"',
        'm.joinedAt AS "joinedAt"',
        'u.email AS email',
        'u.name AS name',
      ])
      .where('m.workspaceId = :workspaceId', { workspaceId })
      .orderBy('m.joinedAt', 'ASC')
      .getRawMany<MemberWithUser>();
  }

  findMember(workspaceId: string, userId: string): Promise<WorkspaceMember | null> {
    return this.dataSource.getRepository(WorkspaceMember).findOneBy({ workspaceId, userId });
  }

  async addMember(member: Pick<WorkspaceMember, 'workspaceId' | 'userId' | 'role' | 'customRoleId'>): Promise<void> {
    await this.dataSource.getRepository(WorkspaceMember).insert(member);
  }

  async updateMember(workspaceId: string, userId: string, role: WorkspaceMember['role'], customRoleId: string | null): Promise<void> {
    await this.dataSource.getRepository(WorkspaceMember).update({ workspaceId, userId }, { role, customRoleId });
  }

  async removeMember(workspaceId: string, userId: string): Promise<void> {
    await this.dataSource.getRepository(WorkspaceMember).delete({ workspaceId, userId });
  }

  countOwners(workspaceId: string): Promise<number> {
    return this.dataSource.getRepository(WorkspaceMember).countBy({ workspaceId, role: BuiltInRole.Owner });
  }

  listRoles(workspaceId: string): Promise<WorkspaceRole[]> {
    return this.dataSource.getRepository(WorkspaceRole).find({ where: { workspaceId }, order: { name: 'ASC' } });
  }

  findRole(workspaceId: string, roleId: string): Promise<WorkspaceRole | null> {
    return this.dataSource.getRepository(WorkspaceRole).findOneBy({ workspaceId, id: roleId });
  }

  createRole(role: Pick<WorkspaceRole, 'workspaceId' | 'name' | 'permissions'>): Promise<WorkspaceRole> {
    const repository = this.dataSource.getRepository(WorkspaceRole);
    return repository.save(repository.create(role));
  }

  async updateRole(workspaceId: string, roleId: string, changes: Partial<Pick<WorkspaceRole, 'name' | 'permissions'>>): Promise<void> {
    await this.dataSource.getRepository(WorkspaceRole).update({ workspaceId, id: roleId }, changes);
  }

  async deleteRole(workspaceId: string, roleId: string): Promise<void> {
    await this.dataSource.getRepository(WorkspaceRole).delete({ workspaceId, id: roleId });
  }

  countRoleMembers(workspaceId: string, roleId: string): Promise<number> {
    return this.dataSource.getRepository(WorkspaceMember).countBy({ workspaceId, customRoleId: roleId });
  }
}
