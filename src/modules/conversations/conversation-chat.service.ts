import { Injectable, Logger } from '@nestjs/common';
import { AuthContext } from 'src/common/auth/auth-context';
import { Permission } from 'src/common/auth/permission.enum';
import { AppException, CommonErrors } from 'src/common/errors/app.exception';
import { AppConfig } from 'src/config/app-config';
import { ChatGatewayService } from 'src/modules/model-router/gateway/chat-gateway.service';
import { SOURCES_FRAME_CHARS } from 'src/modules/rag/grounding';
import { ActiveTurns } from 'src/modules/conversations/active-turns';
import { ChatTurn } from 'src/modules/conversations/chat-turn';
import { assertPromptFits, buildContext, groundedSystemPrompt } from 'src/modules/conversations/conversation-context';
import { ConversationEventsPublisher } from 'src/modules/conversations/conversation-events.publisher';
import { ConversationGrounding } from 'src/modules/conversations/conversation-grounding';
import { conversationNotFound } from 'src/modules/conversations/conversations.exception';
import { ConversationsRepository } from 'src/modules/conversations/conversations.repository';
import { ConversationsService, ownerOf } from 'src/modules/conversations/conversations.service';
import { ChatTurnDto, MessageDto, SendMessageDto } from 'src/modules/conversations/dto/messages.dto';

const TITLE_LENGTH = 80;

/**
 * Sending a message, for every surface (REST, SSE, Socket.IO, GraphQL): the checks, the
 * stored turn, the context sent to the model, and the answer relayed as stream events.
 */
@Injectable()
export class ConversationChatService {
  private readonly logger = new Logger('Conversations');

  constructor(
    private readonly config: AppConfig,
    private readonly repository: ConversationsRepository,
    private readonly conversations: ConversationsService,
    private readonly gateway: ChatGatewayService,
    private readonly publisher: ConversationEventsPublisher,
    private readonly activeTurns: ActiveTurns,
    private readonly grounding: ConversationGrounding,
  ) {}

  /**
   * Checks the message, then stores it with the answer's `streaming` placeholder and tells
   * the conversation's followers. Anything refused here (permission, foreign or unknown
   * conversation, unknown model, size, limits) stores nothing. Neither the knowledge bases of a
   * grounded conversation are searched nor the model called yet: the caller calls `connect()`
   * on the turn, or `run()` to generate in the background.
   */
  async begin(auth: AuthContext, conversationId: string, input: SendMessageDto): Promise<ChatTurn> {
    if (!auth.permissions.has(Permission.ModelInvoke)) {
      throw CommonErrors.forbidden(`Sending a message calls a model: it needs ${Permission.ModelInvoke}`);
    }
    const conversation = await this.conversations.require(auth, conversationId);
    const knowledgeBaseIds = (await this.repository.knowledgeBaseIdsOf([conversationId])).get(conversationId) ?? [];
    const grounded = knowledgeBaseIds.length > 0;
    const limits = this.config.router;
    if (grounded) {
      assertPromptFits(groundedSystemPrompt(conversation.systemPrompt), input.content, limits.maxPromptChars, SOURCES_FRAME_CHARS);
    } else {
      assertPromptFits(conversation.systemPrompt, input.content, limits.maxPromptChars);
    }
    if (input.maxTokens !== undefined && input.maxTokens > limits.maxCompletionTokens) {
      throw CommonErrors.validation(`maxTokens must not be above ${limits.maxCompletionTokens}`);
    }
    const requested = input.model ?? conversation.model;
    await this.conversations.assertModelExists(requested);

    const stored = await this.repository.addTurn(ownerOf(auth), conversationId, {
      content: input.content,
      requestedModel: requested,
      titleIfUnset: titleOf(input.content),
    });
    if (!stored) throw conversationNotFound();
    // The system prompt and the new message take two of the gateway's message slots.
    const maxHistoryMessages = Math.max(0, Math.min(this.config.conversations.maxContextMessages, limits.maxMessages - 2));
    const history = maxHistoryMessages > 0 ? await this.repository.history(conversationId, stored.user.sequence, maxHistoryMessages) : [];
    const contextLimits = { maxHistoryMessages, maxPromptChars: limits.maxPromptChars };
    const groundingInput = {
      knowledgeBaseIds,
      systemPrompt: conversation.systemPrompt,
      history,
      content: input.content,
      limits: contextLimits,
    };

    const turn = new ChatTurn(
      { gateway: this.gateway, repository: this.repository, publisher: this.publisher, logger: this.logger },
      {
        conversationId,
        userMessage: MessageDto.from(stored.user),
        assistantMessageId: stored.assistant.id,
        request: {
          model: requested,
          messages: grounded ? [] : buildContext(conversation.systemPrompt, history, input.content, contextLimits),
          ...(input.temperature !== undefined && { temperature: input.temperature }),
          ...(input.maxTokens !== undefined && { maxTokens: input.maxTokens }),
        },
        subject: { workspaceId: auth.workspaceId, userId: auth.userId, apiKeyId: auth.apiKeyId ?? null },
        // With the sender's permissions as they are now, for this turn.
        ...(grounded && { ground: () => this.grounding.ground(auth, groundingInput) }),
      },
    );
    this.activeTurns.add(turn);
    turn.announce();
    return turn;
  }

  /** Socket.IO and GraphQL: answers with the stored message at once; the answer follows as events. */
  async send(auth: AuthContext, conversationId: string, input: SendMessageDto): Promise<ChatTurn> {
    const turn = await this.begin(auth, conversationId, input);
    turn.run().catch((error: unknown) => this.logger.error(`answer ${turn.assistantMessageId} failed: ${String(error)}`));
    return turn;
  }

  /**
   * REST without streaming: both messages once the answer has ended. An answer cut after
   * its first token is an error response (never a silently short answer); the partial
   * answer is stored as `incomplete`, and the error's details name both messages.
   */
  async complete(auth: AuthContext, conversationId: string, input: SendMessageDto, signal: AbortSignal): Promise<ChatTurnDto> {
    const turn = await this.begin(auth, conversationId, input);
    turn.stopOn(signal, 'the client closed the connection');
    await turn.connect();
    const terminal = await turn.relay();
    if (terminal.type === 'done') return { userMessage: turn.userMessage, assistantMessage: terminal.message };
    throw new AppException(terminal.error.code, terminal.error.statusCode, terminal.error.message, {
      userMessageId: turn.userMessage.id,
      assistantMessageId: turn.assistantMessageId,
    });
  }
}

/** A conversation without a title is named after its first message. */
function titleOf(content: string): string {
  const line = content.trim().split('\n')[0].replace(/\s+/g, ' ');
  return line.length <= TITLE_LENGTH ? line : `${line.slice(0, TITLE_LENGTH - 1)}…`;
}
