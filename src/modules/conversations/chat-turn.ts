import { Logger } from '@nestjs/common';
import { CommonErrorCode } from 'src/common/errors/app.exception';
import { toErrorBody } from 'src/common/errors/error-body';
import type { ChatGateway, GatewayChatRequest, GatewayStream } from 'src/modules/model-router/gateway/chat-gateway.types';
import type { ChatChunk } from 'src/modules/model-router/providers/llm-provider';
import { RouterErrorCode, RouterException } from 'src/modules/model-router/router.exception';
import type { UsageSubject } from 'src/modules/model-router/usage/usage.contract';
import { citedInOrder } from 'src/modules/rag/grounding';
import type { GroundedTurn } from 'src/modules/conversations/conversation-grounding';
import type { MessageGrounding } from 'src/modules/conversations/conversation-message.entity';
import { ConversationEventsPublisher } from 'src/modules/conversations/conversation-events.publisher';
import { ConversationStreamEvent, ConversationStreamPayloads } from 'src/modules/conversations/conversation-stream';
import { ConversationErrorCode, ConversationException } from 'src/modules/conversations/conversations.exception';
import { AssistantOutcome, ConversationsRepository } from 'src/modules/conversations/conversations.repository';
import { MessageDto } from 'src/modules/conversations/dto/messages.dto';

const STORE_FAILED = { statusCode: 500, code: CommonErrorCode.Internal, message: 'The answer could not be stored' };

export interface TurnServices {
  gateway: ChatGateway;
  repository: ConversationsRepository;
  publisher: ConversationEventsPublisher;
  logger: Logger;
}

export interface TurnStart {
  conversationId: string;
  userMessage: MessageDto;
  assistantMessageId: string;
  /** For a grounded turn, `messages` is left empty: `ground` builds them. */
  request: GatewayChatRequest;
  subject: UsageSubject;
  /** Grounded conversations: retrieves the sources and builds the context, before the model is called. */
  ground?: () => Promise<GroundedTurn>;
}

type Terminal = Extract<ConversationStreamEvent, { type: 'done' | 'error' }>;
type Outcome = Omit<AssistantOutcome, 'errorCode' | 'errorMessage'>;
type Failure = ConversationStreamPayloads['error']['error'];

/**
 * One answer being generated. Its user message and the assistant's `streaming` placeholder
 * are stored before it exists; it owns the placeholder until it ends, and every way it can
 * end (last chunk, node failure, failure before the first token, client gone, abort, a
 * consumer that stops reading) stores the answer with its final status exactly once.
 */
export class ChatTurn {
  readonly conversationId: string;
  readonly userMessage: MessageDto;
  readonly assistantMessageId: string;
  /** Resolves once the answer is stored, whichever way it ended. */
  readonly settled: Promise<void>;
  private readonly controller = new AbortController();
  private request: GatewayChatRequest;
  private readonly subject: UsageSubject;
  private readonly ground?: () => Promise<GroundedTurn>;
  private grounding?: MessageGrounding;
  private stream?: GatewayStream;
  private ended = false;
  private markSettled!: () => void;

  constructor(
    private readonly services: TurnServices,
    start: TurnStart,
  ) {
    this.conversationId = start.conversationId;
    this.userMessage = start.userMessage;
    this.assistantMessageId = start.assistantMessageId;
    this.request = start.request;
    this.subject = start.subject;
    this.ground = start.ground;
    this.settled = new Promise((resolve) => (this.markSettled = resolve));
  }

  /** The `message` event: the user's message is stored and an answer is on its way. */
  get messageEvent(): Extract<ConversationStreamEvent, { type: 'message' }> {
    return { type: 'message', conversationId: this.conversationId, messageId: this.assistantMessageId, userMessage: this.userMessage };
  }

  /** Tells the followers at once, before the model is even reached. */
  announce(): void {
    this.services.publisher.publish(this.messageEvent);
  }

  /** Stops the generation; what was generated so far is stored as incomplete. */
  abort(reason: string): void {
    if (!this.controller.signal.aborted) this.controller.abort(new ConversationException(ConversationErrorCode.GenerationAborted, reason));
  }

  /** Stops the generation when `signal` aborts (its client went away). */
  stopOn(signal: AbortSignal, reason: string): void {
    if (signal.aborted) this.abort(reason);
    else signal.addEventListener('abort', () => this.abort(reason), { once: true });
  }

  /**
   * Grounds the turn (when its conversation has knowledge bases), calls the model and resolves
   * once it has sent its first chunk. A failure before that (retrieval unavailable, unknown
   * model, no node, overloaded, quota) ends the turn with status `error` and is rethrown, so a
   * caller that has not answered yet can answer with the error itself.
   */
  async connect(): Promise<void> {
    try {
      if (this.ground) {
        const grounded = await this.ground();
        this.request = { ...this.request, messages: grounded.messages };
        this.grounding = grounded.grounding;
        this.controller.signal.throwIfAborted();
      }
      this.stream = await this.services.gateway.stream(this.request, this.subject, { signal: this.controller.signal });
    } catch (error) {
      await this.end({ status: 'error', content: '', ...this.groundingOf('') }, this.failure(error));
      throw error;
    }
  }

  /**
   * After connect(): relays `route`, the `token`s, then `done` or `error` to `onEvent` and to
   * the followers, and resolves with the last one once the answer is stored. Runs to the end
   * whether or not anyone reads: a client that goes away stops it through abort().
   */
  async relay(onEvent?: (event: ConversationStreamEvent) => void): Promise<Terminal> {
    let terminal: Terminal | undefined;
    for await (const event of this.events()) {
      onEvent?.(event);
      if (event.type === 'done' || event.type === 'error') terminal = event;
    }
    if (!terminal) throw new Error('a turn ended without done or error');
    return terminal;
  }

  /** For callers that answer before the model does (Socket.IO, GraphQL): followers get every event. */
  async run(): Promise<void> {
    try {
      await this.connect();
    } catch {
      return; // Stored as `error` and published by connect().
    }
    await this.relay();
  }

  private async *events(): AsyncGenerator<ConversationStreamEvent> {
    const stream = this.stream;
    if (!stream) throw new Error('connect() must succeed before relay()');
    const routed = { model: stream.routing.model, nodeId: stream.routing.nodeId, routing: stream.routing };
    let content = '';
    try {
      yield this.publish({
        type: 'route',
        conversationId: this.conversationId,
        messageId: this.assistantMessageId,
        routing: stream.routing,
      });
      let last: ChatChunk | undefined;
      for await (const chunk of stream.chunks) {
        if (chunk.content) {
          content += chunk.content;
          yield this.publish({
            type: 'token',
            conversationId: this.conversationId,
            messageId: this.assistantMessageId,
            delta: chunk.content,
          });
        }
        if (chunk.done) last = chunk;
      }
      if (!last) throw new RouterException(RouterErrorCode.StreamInterrupted, 'the answer ended without its final chunk');
      yield await this.end({
        status: 'complete',
        content,
        ...routed,
        ...this.groundingOf(content),
        finishReason: last.finishReason ?? 'stop',
        promptTokens: last.usage?.promptTokens ?? null,
        completionTokens: last.usage?.completionTokens ?? null,
      });
    } catch (error) {
      yield await this.end({ status: 'incomplete', content, ...routed, ...this.groundingOf(content) }, this.failure(error));
    } finally {
      if (!this.ended) {
        // relay()'s callback threw: leaving the loop above has already released the model.
        this.abort('the answer could not be relayed');
        await this.end(
          { status: 'incomplete', content, ...routed, ...this.groundingOf(content) },
          this.failure(this.controller.signal.reason),
        );
      }
    }
  }

  /** A grounded answer's citations (the sources its text cites so far) and what was searched. */
  private groundingOf(content: string): Pick<Outcome, 'citations' | 'grounding'> {
    if (!this.grounding) return {};
    return { grounding: this.grounding, citations: citedInOrder(content, this.grounding.sources) };
  }

  private publish<E extends ConversationStreamEvent>(event: E): E {
    this.services.publisher.publish(event);
    return event;
  }

  private failure(error: unknown): Failure {
    // An abort surfaces as whatever the provider threw; the reason we aborted says more.
    const cause: unknown = this.controller.signal.aborted ? this.controller.signal.reason : error;
    const body = toErrorBody(cause);
    if (body.statusCode >= 500 && !(cause instanceof RouterException)) {
      this.services.logger.error(
        `generation of message ${this.assistantMessageId} failed: ${cause instanceof Error ? cause.stack : String(cause)}`,
      );
    }
    return { statusCode: body.statusCode, code: body.code, message: body.message };
  }

  private async end(outcome: Outcome, failure?: Failure): Promise<Terminal> {
    this.ended = true;
    const ids = { conversationId: this.conversationId, messageId: this.assistantMessageId };
    let message: MessageDto | null = null;
    let problem = failure;
    try {
      const stored = await this.services.repository.finishAssistant(this.assistantMessageId, {
        ...outcome,
        errorCode: failure?.code ?? null,
        errorMessage: failure?.message ?? null,
      });
      message = stored && MessageDto.from(stored);
      // Nothing to update: the conversation was deleted while its answer was generated.
      problem ??= stored
        ? undefined
        : { statusCode: 404, code: ConversationErrorCode.ConversationNotFound, message: 'The conversation was deleted' };
    } catch (error) {
      this.services.logger.error(
        `could not store message ${this.assistantMessageId}: ${error instanceof Error ? error.message : String(error)}`,
      );
      problem = STORE_FAILED;
    }
    const terminal: Terminal =
      message && !problem ? { type: 'done', ...ids, message } : { type: 'error', ...ids, error: problem ?? STORE_FAILED, message };
    this.publish(terminal);
    this.markSettled();
    return terminal;
  }
}
