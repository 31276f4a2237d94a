import { Column, CreateDateColumn, Entity, ForeignKey, Index, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';
import type { ModelTier } from 'src/modules/model-router/complexity';
import type { AgentToolName } from 'src/modules/agents/tools/agent-tool';
import { User } from 'src/modules/users/user.entity';
import { Workspace } from 'src/modules/workspaces/workspace.entity';

/** A custom agent of one workspace: its prompt, the model it uses, the tools it may call and its per-task limits. */
@Entity('agent_definitions')
@Index('uq_agent_definitions_workspace_name', ['workspaceId', 'name'], { unique: true })
export class AgentDefinition {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ type: 'uuid' })
  @ForeignKey(() => Workspace, { onDelete: 'CASCADE' })
  workspaceId: string;

  /** What plans and runs name it by; never a built-in agent's name. */
  @Column({ type: 'varchar', length: 40 })
  name: string;

  /** What the planner reads when it chooses agents for tasks. */
  @Column({ type: 'varchar', length: 500 })
  description: string;

  @Column({ type: 'text' })
  systemPrompt: string;

  /** Exactly one of tier and model is set. */
  @Column({ type: 'varchar', length: 16, nullable: true })
  tier: ModelTier | null;

  @Column({ type: 'varchar', length: 128, nullable: true })
  model: string | null;

  @Column({ type: 'text', array: true, default: '{}' })
  tools: AgentToolName[];

  /** Per task, under the run's own limits; null takes the built-in default. */
  @Column({ type: 'int', nullable: true })
  maxSteps: number | null;

  @Column({ type: 'int', nullable: true })
  maxToolCalls: number | null;

  @Column({ type: 'uuid', nullable: true })
  @ForeignKey(() => User, { onDelete: 'SET NULL' })
  createdBy: string | null;

  @CreateDateColumn({ type: 'timestamptz' })
  createdAt: Date;

  @UpdateDateColumn({ type: 'timestamptz' })
  updatedAt: Date;
}
