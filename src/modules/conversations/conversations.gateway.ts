import { UseFilters } from '@nestjs/common';
import { ConnectedSocket, MessageBody, OnGatewayInit, SubscribeMessage, WebSocketGateway } from '@nestjs/websockets';
import { Auth, Authenticated } from 'src/common/auth/auth.decorator';
import { AuthContext } from 'src/common/auth/auth-context';
import { Permission } from 'src/common/auth/permission.enum';
import { AllExceptionsFilter } from 'src/common/errors/all-exceptions.filter';
import { AckResponse, REALTIME_NAMESPACE } from 'src/modules/realtime/realtime-events';
import { ConversationChatService } from 'src/modules/conversations/conversation-chat.service';
import { ConversationEventsPublisher } from 'src/modules/conversations/conversation-events.publisher';
import {
  ConversationNamespace,
  ConversationRef,
  conversationRoom,
  ConversationSocket,
  SentMessageAck,
} from 'src/modules/conversations/conversation-socket-events';
import { ConversationsService } from 'src/modules/conversations/conversations.service';
import { ConversationRefDto, SocketSendMessageDto } from 'src/modules/conversations/dto/conversation-socket.dto';

/**
 * Conversations on the `/realtime` namespace. The realtime gateway authenticates every
 * connection at the handshake; this one adds the conversation messages. A connection
 * follows a conversation's stream only after its access to it was checked.
 */
@WebSocketGateway({ namespace: REALTIME_NAMESPACE })
// Global filters do not reach gateways; this one answers errors through the client's ack.
@UseFilters(AllExceptionsFilter)
export class ConversationsGateway implements OnGatewayInit<ConversationNamespace> {
  constructor(
    private readonly conversations: ConversationsService,
    private readonly chat: ConversationChatService,
    private readonly publisher: ConversationEventsPublisher,
  ) {}

  afterInit(namespace: ConversationNamespace): void {
    this.publisher.attach(namespace);
  }

  @Authenticated({ permission: Permission.ConversationRead })
  @SubscribeMessage('conversation:join')
  async join(
    @Auth() auth: AuthContext,
    @ConnectedSocket() socket: ConversationSocket,
    @MessageBody() request: ConversationRefDto,
  ): Promise<AckResponse<ConversationRef>> {
    await this.conversations.require(auth, request.conversationId);
    await socket.join(conversationRoom(request.conversationId));
    return { ok: true, data: { conversationId: request.conversationId } };
  }

  @Authenticated()
  @SubscribeMessage('conversation:leave')
  async leave(
    @ConnectedSocket() socket: ConversationSocket,
    @MessageBody() request: ConversationRefDto,
  ): Promise<AckResponse<ConversationRef>> {
    await socket.leave(conversationRoom(request.conversationId));
    return { ok: true, data: { conversationId: request.conversationId } };
  }

  /** Joins the sender to the conversation first, so it sees every event of its own turn. */
  @Authenticated({ permission: Permission.ConversationWrite })
  @SubscribeMessage('conversation:send')
  async send(
    @Auth() auth: AuthContext,
    @ConnectedSocket() socket: ConversationSocket,
    @MessageBody() request: SocketSendMessageDto,
  ): Promise<AckResponse<SentMessageAck>> {
    const { conversationId, ...input } = request;
    await this.conversations.require(auth, conversationId);
    await socket.join(conversationRoom(conversationId));
    const turn = await this.chat.send(auth, conversationId, input);
    return { ok: true, data: { userMessageId: turn.userMessage.id, assistantMessageId: turn.assistantMessageId } };
  }
}
