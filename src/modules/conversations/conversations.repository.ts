import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { Brackets, DataSource, EntityManager } from 'typeorm';
import { knowledgeBaseNotFound } from 'src/modules/rag/grounding';
import { ConversationKnowledgeBase } from 'src/modules/conversations/conversation-knowledge-base.entity';
import { ConversationMessage } from 'src/modules/conversations/conversation-message.entity';
import { Conversation } from 'src/modules/conversations/conversation.entity';

const FOREIGN_KEY_VIOLATION = '23503';

/** Whose conversations a call may touch: every method is scoped by both. */
export interface ConversationOwner {
  workspaceId: string;
  userId: string;
}

export interface PageQuery {
  /** Keyset cursor: the id of the last item of the previous page. */
  before?: string;
  limit: number;
}

export type ConversationPatch = Partial<Pick<Conversation, 'title' | 'model' | 'systemPrompt'>>;

export type AssistantOutcome = Pick<ConversationMessage, 'status' | 'content'> &
  Partial<
    Pick<
      ConversationMessage,
      | 'model'
      | 'nodeId'
      | 'routing'
      | 'finishReason'
      | 'promptTokens'
      | 'completionTokens'
      | 'errorCode'
      | 'errorMessage'
      | 'citations'
      | 'grounding'
    >
  >;

/** Conversations and their messages; the only code that queries them. */
@Injectable()
export class ConversationsRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /** With its knowledge bases, checked to be the workspace's by the caller (one deleted meanwhile fails it, 404). */
  create(
    owner: ConversationOwner,
    fields: Pick<Conversation, 'title' | 'model' | 'systemPrompt'>,
    knowledgeBaseIds: readonly string[],
  ): Promise<Conversation> {
    return this.dataSource.transaction(async (manager) => {
      const repository = manager.getRepository(Conversation);
      const conversation = await repository.save(repository.create({ ...owner, ...fields }));
      await linkKnowledgeBases(manager, conversation.id, knowledgeBaseIds);
      return conversation;
    });
  }

  /** The knowledge bases of each conversation, in the order they were given. */
  async knowledgeBaseIdsOf(conversationIds: readonly string[]): Promise<Map<string, string[]>> {
    const byConversation = new Map(conversationIds.map((id) => [id, [] as string[]]));
    if (conversationIds.length === 0) return byConversation;
    const links = await this.dataSource
      .createQueryBuilder(ConversationKnowledgeBase, 'l')
      .where('l.conversationId IN (:...conversationIds)', { conversationIds })
      .orderBy('l.position', 'ASC')
      .getMany();
    for (const link of links) byConversation.get(link.conversationId)?.push(link.knowledgeBaseId);
    return byConversation;
  }

  find(owner: ConversationOwner, id: string): Promise<Conversation | null> {
    return this.dataSource.getRepository(Conversation).findOneBy({ id, ...owner });
  }

  /** Most recently active first (last message, else creation). */
  async list(owner: ConversationOwner, page: PageQuery): Promise<Conversation[]> {
    const activity = 'COALESCE(c.last_message_at, c.created_at)';
    const query = this.dataSource
      .createQueryBuilder(Conversation, 'c')
      .where('c.workspaceId = :workspaceId AND c.userId = :userId', owner)
      .orderBy(activity, 'DESC')
      .addOrderBy('c.id', 'DESC')
      .limit(page.limit);
    if (page.before) {
      // An unknown or foreign cursor matches nothing, so it yields an empty page.
      query.andWhere(
        `(${activity}, c.id) < (SELECT COALESCE(p.last_message_at, p.created_at), p.id FROM conversations p
          WHERE p.id = :before AND p.workspace_id = :workspaceId AND p.user_id = :userId)`,
        { before: page.before },
      );
    }
    return query.getMany();
  }

  /**
   * The updated conversation, or null when it is not the owner's. `knowledgeBaseIds`, when
   * given, replaces its knowledge bases in the same transaction: all or nothing.
   */
  async update(
    owner: ConversationOwner,
    id: string,
    patch: ConversationPatch,
    knowledgeBaseIds?: readonly string[],
  ): Promise<Conversation | null> {
    if (Object.keys(patch).length === 0 && knowledgeBaseIds === undefined) return this.find(owner, id);
    const updated = await this.dataSource.transaction(async (manager) => {
      // Also when only the links change: it checks ownership and marks the change.
      const result = await manager.getRepository(Conversation).update({ id, ...owner }, { ...patch, updatedAt: () => 'now()' });
      if (!result.affected) return false;
      if (knowledgeBaseIds !== undefined) {
        await manager.getRepository(ConversationKnowledgeBase).delete({ conversationId: id });
        await linkKnowledgeBases(manager, id, knowledgeBaseIds);
      }
      return true;
    });
    return updated ? this.find(owner, id) : null;
  }

  async delete(owner: ConversationOwner, id: string): Promise<boolean> {
    const result = await this.dataSource.getRepository(Conversation).delete({ id, ...owner });
    return (result.affected ?? 0) > 0;
  }

  /** Oldest first; `before` pages back from the newest. */
  async listMessages(owner: ConversationOwner, conversationId: string, page: PageQuery): Promise<ConversationMessage[]> {
    const query = this.dataSource
      .createQueryBuilder(ConversationMessage, 'm')
      .innerJoin(Conversation, 'c', 'c.id = m.conversationId AND c.workspaceId = :workspaceId AND c.userId = :userId', owner)
      .where('m.conversationId = :conversationId', { conversationId })
      .orderBy('m.sequence', 'DESC')
      .limit(page.limit);
    if (page.before) {
      query.andWhere(
        'm.sequence < (SELECT b.sequence FROM conversation_messages b WHERE b.id = :before AND b.conversation_id = :conversationId)',
        {
          before: page.before,
        },
      );
    }
    return (await query.getMany()).reverse();
  }

  /**
   * Adds a turn: the user's message (complete) and the assistant's placeholder (streaming).
   * The conversation row is updated first, which both checks ownership and serialises
   * concurrent sends; null when the conversation is not the owner's.
   */
  async addTurn(
    owner: ConversationOwner,
    conversationId: string,
    user: { content: string; requestedModel: string; titleIfUnset: string },
  ): Promise<{ user: ConversationMessage; assistant: ConversationMessage } | null> {
    return this.dataSource.transaction(async (manager) => {
      const bumped = await manager
        .createQueryBuilder()
        .update(Conversation)
        .set({ messageCount: () => 'message_count + 2', lastMessageAt: () => 'now()', title: () => 'COALESCE(title, :title)' })
        .where('id = :conversationId AND workspace_id = :workspaceId AND user_id = :userId', { conversationId, ...owner })
        .setParameter('title', user.titleIfUnset)
        .returning('message_count')
        .execute();
      const rows = bumped.raw as { message_count: number }[];
      if (rows.length === 0) return null;
      const next = rows[0].message_count;
      const messages = manager.getRepository(ConversationMessage);
      const [userMessage, assistantMessage] = await messages.save([
        messages.create({
          conversationId,
          sequence: next - 1,
          role: 'user',
          content: user.content,
          status: 'complete',
          model: user.requestedModel,
        }),
        messages.create({ conversationId, sequence: next, role: 'assistant', content: '', status: 'streaming' }),
      ]);
      return { user: userMessage, assistant: assistantMessage };
    });
  }

  /**
   * The turns a model sees as history, newest `limit` messages before `beforeSequence`: user
   * messages whose answer is complete or incomplete, and those answers. Failed turns are
   * left out: the model never answered them and the user usually asks again.
   */
  async history(conversationId: string, beforeSequence: number, limit: number): Promise<ConversationMessage[]> {
    const answered = "('complete', 'incomplete')";
    const rows = await this.dataSource
      .createQueryBuilder(ConversationMessage, 'm')
      .where('m.conversationId = :conversationId AND m.sequence < :beforeSequence', { conversationId, beforeSequence })
      .andWhere(
        new Brackets((either) =>
          either.where(`m.role = 'assistant' AND m.status IN ${answered}`).orWhere(
            `m.role = 'user' AND EXISTS (SELECT 1 FROM conversation_messages r
                WHERE r.conversation_id = m.conversation_id AND r.sequence = m.sequence + 1 AND r.status IN ${answered})`,
          ),
        ),
      )
      .orderBy('m.sequence', 'DESC')
      .limit(limit)
      .getMany();
    return rows.reverse();
  }

  /** Ends a generation; a message already ended (or deleted with its conversation) is left alone. */
  async finishAssistant(messageId: string, outcome: AssistantOutcome): Promise<ConversationMessage | null> {
    const messages = this.dataSource.getRepository(ConversationMessage);
    const result = await messages.update({ id: messageId, status: 'streaming' }, outcome);
    return result.affected ? messages.findOneBy({ id: messageId }) : null;
  }

  /**
   * Ends answers whose process died while generating them (a clean shutdown ends its own):
   * nothing may stay `streaming` forever. Idempotent, so every replica may run it.
   */
  async endStaleStreams(startedBefore: Date): Promise<number> {
    const result = await this.dataSource
      .createQueryBuilder()
      .update(ConversationMessage)
      .set({
        status: 'incomplete',
        errorCode: 'GENERATION_LOST',
        errorMessage: 'The process generating this answer stopped before it finished',
      })
      .where('status = :status AND created_at < :startedBefore', { status: 'streaming', startedBefore })
      .execute();
    return result.affected ?? 0;
  }
}

async function linkKnowledgeBases(manager: EntityManager, conversationId: string, knowledgeBaseIds: readonly string[]): Promise<void> {
  if (knowledgeBaseIds.length === 0) return;
  const links = knowledgeBaseIds.map((knowledgeBaseId, position) => ({ conversationId, knowledgeBaseId, position }));
  try {
    await manager.getRepository(ConversationKnowledgeBase).insert(links);
  } catch (error) {
    // Deleted between the check and this write.
    if ((error as { code?: string }).code === FOREIGN_KEY_VIOLATION) throw knowledgeBaseNotFound();
    throw error;
  }
}
