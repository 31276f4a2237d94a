import { Column, CreateDateColumn, Entity, ForeignKey, Index, PrimaryColumn } from 'typeorm';
import { BuiltInRole } from 'src/common/auth/roles';
import { User } from 'src/modules/users/user.entity';
import { WorkspaceRole } from 'src/modules/workspaces/workspace-role.entity';
import { Workspace } from 'src/modules/workspaces/workspace.entity';

@Entity('workspace_members')
@Index('idx_workspace_members_user', ['userId'])
export class WorkspaceMember {
  @PrimaryColumn({ type: 'uuid' })
  @ForeignKey(() => Workspace, { onDelete: 'CASCADE' })
  workspaceId: string;

  @PrimaryColumn({ type: 'uuid' })
  @ForeignKey(() => User, { onDelete: 'CASCADE' })
  userId: string;

  /** A built-in role, or `custom` with `customRoleId` naming the workspace's own role. */
  @Column({ type: 'varchar', length: 16 })
  role: BuiltInRole | 'custom';

  @Column({ type: 'uuid', nullable: true })
  @ForeignKey(() => WorkspaceRole, { onDelete: 'RESTRICT' })
  customRoleId: string | null;

  @CreateDateColumn({ type: 'timestamptz' })
  joinedAt: Date;
}
