import { Column, CreateDateColumn, Entity, ForeignKey, Index, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';
import { User } from 'src/modules/users/user.entity';
import { Workspace } from 'src/modules/workspaces/workspace.entity';

/** A chat, private to its owner within one workspace. */
@Entity('conversations')
@Index('idx_conversations_owner', ['workspaceId', 'userId'])
export class Conversation {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ type: 'uuid' })
  @ForeignKey(() => Workspace, { onDelete: 'CASCADE' })
  workspaceId: string;

  /** The owner: the only user who can see or use it. */
  @Column({ type: 'uuid' })
  @ForeignKey(() => User, { onDelete: 'CASCADE' })
  userId: string;

  /** Set from the first message when the client gives none. */
  @Column({ type: 'varchar', length: 200, nullable: true })
  title: string | null;

  /** What a message asks for unless it names its own: a model name, alias, tier or `auto`. */
  @Column({ type: 'varchar', length: 128, default: 'auto' })
  model: string;

  @Column({ type: 'text', nullable: true })
  systemPrompt: string | null;

  /**
   * Messages ever added; bumped in the same statement that locks the row, so concurrent
   * sends to one conversation get distinct, ordered sequence numbers.
   */
  @Column({ type: 'int', default: 0 })
  messageCount: number;

  @CreateDateColumn({ type: 'timestamptz' })
  createdAt: Date;

  @UpdateDateColumn({ type: 'timestamptz' })
  updatedAt: Date;

  @Column({ type: 'timestamptz', nullable: true })
  lastMessageAt: Date | null;
}
