import type { Namespace, Socket } from 'socket.io';
import type { AckResponse, SocketData } from 'src/modules/realtime/realtime-events';
import type { ConversationStreamEventType, ConversationStreamPayloads } from 'src/modules/conversations/conversation-stream';
import type { SendMessageDto } from 'src/modules/conversations/dto/messages.dto';

/** Connections that follow a conversation's stream; joined with `conversation:join` or by sending. */
export const conversationRoom = (conversationId: string) => `conversation:${conversationId}`;

export interface ConversationRef {
  conversationId: string;
}

export interface SocketSendMessage extends SendMessageDto, ConversationRef {}

export interface SentMessageAck {
  userMessageId: string;
  assistantMessageId: string;
}

/** Client → server messages of conversations on `/realtime`; every one is acknowledged. */
export interface ConversationClientEvents {
  'conversation:join': (request: ConversationRef, ack: (response: AckResponse<ConversationRef>) => void) => void;
  'conversation:leave': (request: ConversationRef, ack: (response: AckResponse<ConversationRef>) => void) => void;
  'conversation:send': (request: SocketSendMessage, ack: (response: AckResponse<SentMessageAck>) => void) => void;
}

/** Server → client: each stream event as `conversation:<type>`, to the conversation's room. */
export type ConversationServerEvents = {
  [T in ConversationStreamEventType as `conversation:${T}`]: (payload: ConversationStreamPayloads[T]) => void;
};

export type ConversationNamespace = Namespace<ConversationClientEvents, ConversationServerEvents, object, SocketData>;
export type ConversationSocket = Socket<ConversationClientEvents, ConversationServerEvents, object, SocketData>;
