import { Column, CreateDateColumn, Entity, ForeignKey, Index, PrimaryGeneratedColumn } from 'typeorm';
import { Permission } from 'src/common/auth/permission.enum';
import { Workspace } from 'src/modules/workspaces/workspace.entity';

/** A role a workspace defines for itself, with its own permission set. */
@Entity('workspace_roles')
@Index('uq_workspace_roles_name', ['workspaceId', 'name'], { unique: true })
export class WorkspaceRole {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ type: 'uuid' })
  @ForeignKey(() => Workspace, { onDelete: 'CASCADE' })
  workspaceId: string;

  @Column({ type: 'varchar', length: 64 })
  name: string;

  @Column({ type: 'text', array: true })
  permissions: Permission[];

  @CreateDateColumn({ type: 'timestamptz' })
  createdAt: Date;
}
