import { Column, CreateDateColumn, Entity, ForeignKey, Index, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';
import type { AgentSpec } from 'src/modules/agents/definitions/agent-spec';
import { AgentRun } from 'src/modules/agents/runs/agent-run.entity';

/** `plan`: the planner's calls; `task`: an agent's tool loop; `aggregate`: the writer's final answer. */
export type TaskKind = 'plan' | 'task' | 'aggregate';

/** `pending` until its dependencies are done, `queued` once its job is enqueued. */
export type TaskStatus = 'pending' | 'queued' | 'running' | 'completed' | 'failed' | 'cancelled';

/** How the task's model is asked for tool calls: the provider's native tools, or schema-constrained JSON. */
export type ToolMode = 'native' | 'json';

@Entity('agent_run_tasks')
@Index('uq_agent_run_tasks_key', ['runId', 'key'], { unique: true })
export class AgentTask {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ type: 'uuid' })
  @ForeignKey(() => AgentRun, { onDelete: 'CASCADE' })
  runId: string;

  /** The planner's id for it (`t1`), or `plan`, `main`, `aggregate`. */
  @Column({ type: 'varchar', length: 40 })
  key: string;

  @Column({ type: 'varchar', length: 16 })
  kind: TaskKind;

  /** Order in the plan, for display. */
  @Column({ type: 'int' })
  position: number;

  @Column({ type: 'varchar', length: 40 })
  agent: string;

  /** The agent as it was when the task was made: editing the agent later does not change a running task. */
  @Column({ type: 'jsonb' })
  agentSpec: AgentSpec;

  @Column({ type: 'text' })
  instruction: string;

  @Column({ type: 'text', array: true, default: '{}' })
  dependsOn: string[];

  /**
   * Dependencies not completed yet. Each completing dependency takes one off in the statement
   * that completes it; the one that takes the last queues this task, so exactly one caller
   * enqueues it however many finish at once.
   */
  @Column({ type: 'int', default: 0 })
  pendingDependencies: number;

  /** Its result is the run's answer. */
  @Column({ type: 'boolean', default: false })
  final: boolean;

  @Column({ type: 'varchar', length: 16 })
  status: TaskStatus;

  @Column({ type: 'varchar', length: 8, nullable: true })
  toolMode: ToolMode | null;

  @Column({ type: 'text', nullable: true })
  result: string | null;

  @Column({ type: 'int', default: 0 })
  stepCount: number;

  @Column({ type: 'int', default: 0 })
  toolCallCount: number;

  /** Times its job was re-queued by the sweeper. */
  @Column({ type: 'int', default: 0 })
  recoveries: number;

  @Column({ type: 'varchar', length: 64, nullable: true })
  errorCode: string | null;

  @Column({ type: 'text', nullable: true })
  errorMessage: string | null;

  @CreateDateColumn({ type: 'timestamptz' })
  createdAt: Date;

  @UpdateDateColumn({ type: 'timestamptz' })
  updatedAt: Date;

  @Column({ type: 'timestamptz', nullable: true })
  startedAt: Date | null;

  @Column({ type: 'timestamptz', nullable: true })
  finishedAt: Date | null;
}
