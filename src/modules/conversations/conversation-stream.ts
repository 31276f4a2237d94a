import type { ErrorBody } from 'src/common/errors/error-body';
import type { RoutingDecision } from 'src/modules/model-router/gateway/chat-gateway.types';
import type { MessageDto } from 'src/modules/conversations/dto/messages.dto';

/**
 * What a turn reports, in order: `message` (the user's message is stored), `route` (a model
 * started answering), `token`s, then exactly one of `done` or `error`. The same events go to
 * the SSE response, the conversation's Socket.IO room and its GraphQL subscription.
 * `messageId` is always the assistant message being generated.
 */
export interface ConversationStreamPayloads {
  message: { conversationId: string; messageId: string; userMessage: MessageDto };
  route: { conversationId: string; messageId: string; routing: RoutingDecision };
  token: { conversationId: string; messageId: string; delta: string };
  done: { conversationId: string; messageId: string; message: MessageDto };
  /** `message` is the stored answer (incomplete with its partial content, or error); null if the conversation was deleted meanwhile. */
  error: {
    conversationId: string;
    messageId: string;
    error: Pick<ErrorBody, 'statusCode' | 'code' | 'message'>;
    message: MessageDto | null;
  };
}

export type ConversationStreamEventType = keyof ConversationStreamPayloads;

export type ConversationStreamEvent = {
  [T in ConversationStreamEventType]: { type: T } & ConversationStreamPayloads[T];
}[ConversationStreamEventType];
