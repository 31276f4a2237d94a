import { Column, Entity, ForeignKey, Index, PrimaryColumn } from 'typeorm';
import { Conversation } from 'src/modules/conversations/conversation.entity';
import { KnowledgeBase } from 'src/modules/rag/knowledge-bases/knowledge-base.entity';

/**
 * A knowledge base a conversation is grounded in. Deleting the knowledge base removes the link
 * (its conversations carry on with the others), so a conversation never points at one that is gone.
 */
@Entity('conversation_knowledge_bases')
@Index('idx_conversation_knowledge_bases_kb', ['knowledgeBaseId'])
export class ConversationKnowledgeBase {
  @PrimaryColumn({ type: 'uuid' })
  @ForeignKey(() => Conversation, { onDelete: 'CASCADE' })
  conversationId: string;

  @PrimaryColumn({ type: 'uuid' })
  @ForeignKey(() => KnowledgeBase, { onDelete: 'CASCADE' })
  knowledgeBaseId: string;

  /** The order the client gave them in. */
  @Column({ type: 'smallint' })
  position: number;
}
