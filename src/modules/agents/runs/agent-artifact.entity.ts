import { Column, CreateDateColumn, Entity, ForeignKey, PrimaryGeneratedColumn } from 'typeorm';
import { AgentRun } from 'src/modules/agents/runs/agent-run.entity';
import { AgentStep } from 'src/modules/agents/runs/agent-step.entity';

/** A file a tool made (a chart as SVG or PNG), stored with its step and downloadable by the run's owner. */
@Entity('agent_run_artifacts')
export class AgentArtifact {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ type: 'uuid' })
  @ForeignKey(() => AgentRun, { onDelete: 'CASCADE' })
  runId: string;

  @Column({ type: 'uuid' })
  @ForeignKey(() => AgentStep, { onDelete: 'CASCADE' })
  stepId: string;

  @Column({ type: 'varchar', length: 200 })
  name: string;

  @Column({ type: 'varchar', length: 64 })
  mediaType: string;

  @Column({ type: 'int' })
  sizeBytes: number;

  @Column({ type: 'bytea', select: false })
  bytes: Buffer;

  @CreateDateColumn({ type: 'timestamptz' })
  createdAt: Date;
}
