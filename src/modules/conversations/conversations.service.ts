import { Injectable } from '@nestjs/common';
import { AuthContext } from 'src/common/auth/auth-context';
import { AppConfig } from 'src/config/app-config';
import { MODEL_TIERS } from 'src/modules/model-router/complexity';
import { ModelRegistryService } from 'src/modules/model-router/registry/model-registry.service';
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
  ) {}

  async create(auth: AuthContext, dto: CreateConversationDto): Promise<ConversationDto> {
    const model = dto.model ?? 'auto';
    await this.assertModelExists(model);
    this.assertSystemPromptFits(dto.systemPrompt ?? null);
    const conversation = await this.repository.create(ownerOf(auth), {
      title: dto.title ?? null,
      model,
      systemPrompt: dto.systemPrompt ?? null,
    });
    return ConversationDto.from(conversation);
  }

  async list(auth: AuthContext, page: PageQuery): Promise<ConversationDto[]> {
    return (await this.repository.list(ownerOf(auth), page)).map((conversation) => ConversationDto.from(conversation));
  }

  async get(auth: AuthContext, id: string): Promise<ConversationDto> {
    return ConversationDto.from(await this.require(auth, id));
  }

  async require(auth: AuthContext, id: string): Promise<Conversation> {
    const conversation = await this.repository.find(ownerOf(auth), id);
    if (!conversation) throw conversationNotFound();
    return conversation;
  }

  async update(auth: AuthContext, id: string, dto: UpdateConversationDto): Promise<ConversationDto> {
    if (dto.model !== undefined) await this.assertModelExists(dto.model);
    if (dto.systemPrompt !== undefined) this.assertSystemPromptFits(dto.systemPrompt);
    const updated = await this.repository.update(ownerOf(auth), id, {
      ...(dto.title !== undefined && { title: dto.title }),
      ...(dto.model !== undefined && { model: dto.model }),
      ...(dto.systemPrompt !== undefined && { systemPrompt: dto.systemPrompt }),
    });
    if (!updated) throw conversationNotFound();
    return ConversationDto.from(updated);
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

  private assertSystemPromptFits(systemPrompt: string | null): void {
    if (systemPrompt !== null) assertPromptFits(systemPrompt, '', this.config.router.maxPromptChars);
  }
}
