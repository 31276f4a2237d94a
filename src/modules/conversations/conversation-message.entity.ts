import { Column, CreateDateColumn, Entity, ForeignKey, Index, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';
import type { FinishReason } from 'src/modules/model-router/providers/llm-provider';
import type { RoutingDecision } from 'src/modules/model-router/gateway/chat-gateway.types';
import { Conversation } from 'src/modules/conversations/conversation.entity';

export type MessageRole = 'user' | 'assistant';

/**
 * `streaming` only while a generation runs; every ending replaces it: `complete` (the model
 * finished), `incomplete` (cut after the first token: node failure, client gone, shutdown),
 * `error` (nothing was generated).
 */
export type MessageStatus = 'streaming' | 'complete' | 'incomplete' | 'error';

/**
 * One message. A turn is a user message and, at the next sequence number, the assistant's
 * answer to it; both are written together before the model is called.
 */
@Entity('conversation_messages')
@Index('uq_conversation_messages_sequence', ['conversationId', 'sequence'], { unique: true })
export class ConversationMessage {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ type: 'uuid' })
  @ForeignKey(() => Conversation, { onDelete: 'CASCADE' })
  conversationId: string;

  /** 1, 2, 3... within the conversation. */
  @Column({ type: 'int' })
  sequence: number;

  @Column({ type: 'varchar', length: 16 })
  role: MessageRole;

  @Column({ type: 'text' })
  content: string;

  @Column({ type: 'varchar', length: 16 })
  status: MessageStatus;

  /** User messages: what was asked for (name, alias, tier, `auto`). Assistant: the model that answered. */
  @Column({ type: 'varchar', length: 128, nullable: true })
  model: string | null;

  @Column({ type: 'varchar', length: 300, nullable: true })
  nodeId: string | null;

  @Column({ type: 'jsonb', nullable: true })
  routing: RoutingDecision | null;

  @Column({ type: 'varchar', length: 16, nullable: true })
  finishReason: FinishReason | null;

  @Column({ type: 'int', nullable: true })
  promptTokens: number | null;

  @Column({ type: 'int', nullable: true })
  completionTokens: number | null;

  @Column({ type: 'varchar', length: 64, nullable: true })
  errorCode: string | null;

  @Column({ type: 'text', nullable: true })
  errorMessage: string | null;

  @CreateDateColumn({ type: 'timestamptz' })
  createdAt: Date;

  @UpdateDateColumn({ type: 'timestamptz' })
  updatedAt: Date;
}
