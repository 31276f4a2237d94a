import { Injectable } from '@nestjs/common';
import { AuthContext } from 'src/common/auth/auth-context';
import { Permission } from 'src/common/auth/permission.enum';
import { CommonErrors } from 'src/common/errors/app.exception';
import { AppConfig } from 'src/config/app-config';
import { MODEL_TIERS } from 'src/modules/model-router/complexity';
import { ModelRegistryService } from 'src/modules/model-router/registry/model-registry.service';
import { KnowledgeRetriever } from 'src/modules/rag/grounding';
import { ActiveTurns } from 'src/modules/conversations/active-turns';
import { assertPromptFits } from 'src/modules/conversations/conversation-context';
import { Conversation } from 'src/modules/conversations/conversation.entity';
import { conversationNotFound } from 'src/modules/conversations/conversations.exception';
import { ConversationOwner, ConversationsRepository, PageQuery } from 'src/modules/conversations/conversations.repository';
import { ConversationDto, CreateConversationDto, UpdateConversationDto } from 'src/modules/conversations/dto/conversations.dto';
import { MessageDto } from 'src/modules/conversations/dto/messages.dto';

export const ownerOf = (auth: AuthContext): ConversationOwner => ({ workspaceId: auth.workspaceId, userId: auth.userId });

/** Conversations are private: only their owner, acting in their workspace, finds them. */
@Injectable()
export class ConversationsService {
  constructor(
    private readonly config: AppConfig,
    private readonly repository: ConversationsRepository,
    private readonly registry: ModelRegistryService,
    private readonly activeTurns: ActiveTurns,
    private readonly retriever: KnowledgeRetriever,
  ) {}

  async create(auth: AuthContext, dto: CreateConversationDto): Promise<ConversationDto> {
    const model = dto.model ?? 'auto';
    await this.assertModelExists(model);
    this.assertSystemPromptFits(dto.systemPrompt ?? null);
    const knowledgeBaseIds = dto.knowledgeBaseIds ?? [];
    await this.assertKnowledgeBasesReadable(auth, knowledgeBaseIds);
    const conversation = await this.repository.create(
      ownerOf(auth),
      { title: dto.title ?? null, model, systemPrompt: dto.systemPrompt ?? null },
      knowledgeBaseIds,
    );
    return ConversationDto.from(conversation, knowledgeBaseIds);
  }

  async list(auth: AuthContext, page: PageQuery): Promise<ConversationDto[]> {
    return this.toDtos(await this.repository.list(ownerOf(auth), page));
  }

  async get(auth: AuthContext, id: string): Promise<ConversationDto> {
    const [dto] = await this.toDtos([await this.require(auth, id)]);
    return dto;
  }

  async require(auth: AuthContext, id: string): Promise<Conversation> {
    const conversation = await this.repository.find(ownerOf(auth), id);
    if (!conversation) throw conversationNotFound();
    return conversation;
  }

  /** All checks come before the one transaction that writes, so a refused change changes nothing. */
  async update(auth: AuthContext, id: string, dto: UpdateConversationDto): Promise<ConversationDto> {
    if (dto.model !== undefined) await this.assertModelExists(dto.model);
    if (dto.systemPrompt !== undefined) this.assertSystemPromptFits(dto.systemPrompt);
    const knowledgeBaseIds = dto.knowledgeBaseIds === undefined ? undefined : (dto.knowledgeBaseIds ?? []);
    if (knowledgeBaseIds !== undefined) {
      // Not found first: someone else's conversation id says nothing about knowledge bases.
      await this.require(auth, id);
      await this.assertKnowledgeBasesReadable(auth, knowledgeBaseIds);
    }
    const updated = await this.repository.update(
      ownerOf(auth),
      id,
      {
        ...(dto.title !== undefined && { title: dto.title }),
        ...(dto.model !== undefined && { model: dto.model }),
        ...(dto.systemPrompt !== undefined && { systemPrompt: dto.systemPrompt }),
      },
      knowledgeBaseIds,
    );
    if (!updated) throw conversationNotFound();
    const [result] = await this.toDtos([updated]);
    return result;
  }

  /** Also stops an answer still being generated for it here. */
  async delete(auth: AuthContext, id: string): Promise<void> {
    if (!(await this.repository.delete(ownerOf(auth), id))) throw conversationNotFound();
    this.activeTurns.abortConversation(id);
  }

  async listMessages(auth: AuthContext, id: string, page: PageQuery): Promise<MessageDto[]> {
    await this.require(auth, id);
    return this.listMessagesOf(ownerOf(auth), id, page);
  }

  /** For a conversation the caller already holds (GraphQL's `Conversation.messages`). */
  async listMessagesOf(owner: ConversationOwner, id: string, page: PageQuery): Promise<MessageDto[]> {
    return (await this.repository.listMessages(owner, id, page)).map((message) => MessageDto.from(message));
  }

  /**
   * A model a conversation or message names must exist when it is named, so a typo is a
   * 404 that stores nothing. Tiers and `auto` are always valid: the gateway resolves them
   * (with fallbacks) when it is called.
   */
  async assertModelExists(requested: string): Promise<void> {
    if (requested === 'auto' || (MODEL_TIERS as readonly string[]).includes(requested)) return;
    await this.registry.resolveModel(requested);
  }

  /**
   * Knowledge bases a conversation is grounded in must be ones the caller may read, in the
   * conversation's workspace: another workspace's id is `404 KNOWLEDGE_BASE_NOT_FOUND`, like
   * an unknown one. Checked by the `rag` role (`503 ROLE_UNAVAILABLE` when none is reachable).
   */
  private async assertKnowledgeBasesReadable(auth: AuthContext, knowledgeBaseIds: string[]): Promise<void> {
    if (knowledgeBaseIds.length === 0) return;
    if (!auth.permissions.has(Permission.KnowledgeBaseRead)) {
      throw CommonErrors.forbidden(`Grounding a conversation in knowledge bases needs ${Permission.KnowledgeBaseRead}`);
    }
    await this.retriever.requireKnowledgeBases(auth.workspaceId, knowledgeBaseIds);
  }

  private async toDtos(conversations: Conversation[]): Promise<ConversationDto[]> {
    const knowledgeBases = await this.repository.knowledgeBaseIdsOf(conversations.map((conversation) => conversation.id));
    return conversations.map((conversation) => ConversationDto.from(conversation, knowledgeBases.get(conversation.id) ?? []));
  }

  private assertSystemPromptFits(systemPrompt: string | null): void {
    if (systemPrompt !== null) assertPromptFits(systemPrompt, '', this.config.router.maxPromptChars);
  }
}
