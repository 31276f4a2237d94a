import { Column, CreateDateColumn, Entity, ForeignKey, Index, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';
import type { FinishReason } from 'src/modules/model-router/providers/llm-provider';
import type { RoutingDecision } from 'src/modules/model-router/gateway/chat-gateway.types';
import type { KnowledgeBaseSearch } from 'src/modules/rag/grounding';
import { Conversation } from 'src/modules/conversations/conversation.entity';

export type MessageRole = 'user' | 'assistant';

/**
 * `streaming` only while a generation runs; every ending replaces it: `complete` (the model
 * finished), `incomplete` (cut after the first token: node failure, client gone, shutdown),
 * `error` (nothing was generated).
 */
export type MessageStatus = 'streaming' | 'complete' | 'incomplete' | 'error';

/** A numbered source of a grounded answer: what `[n]` points at. */
export interface MessageSource {
  n: number;
  knowledgeBaseId: string;
  /** `<documentId>:<chunk index>` */
  chunkId: string;
  documentId: string;
  documentName: string;
  page: number | null;
  /** Character offsets of the chunk in the document's extracted text. */
  start: number;
  end: number;
}

/** What grounding an answer did: each knowledge base's search, and every source the model was given. */
export interface MessageGrounding {
  knowledgeBases: KnowledgeBaseSearch[];
  sources: MessageSource[];
}

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

  /** Grounded answers: the sources the answer cites, in order of first citation; null when not grounded. */
  @Column({ type: 'jsonb', nullable: true })
  citations: MessageSource[] | null;

  /** Grounded answers: how the conversation's knowledge bases were searched for this turn. */
  @Column({ type: 'jsonb', nullable: true })
  grounding: MessageGrounding | null;

  @Column({ type: 'varchar', length: 64, nullable: true })
  errorCode: string | null;

  @Column({ type: 'text', nullable: true })
  errorMessage: string | null;

  @CreateDateColumn({ type: 'timestamptz' })
  createdAt: Date;

  @UpdateDateColumn({ type: 'timestamptz' })
  updatedAt: Date;
}
