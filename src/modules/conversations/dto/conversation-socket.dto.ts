import { IsUUID } from 'class-validator';
import type { ConversationRef, SocketSendMessage } from 'src/modules/conversations/conversation-socket-events';
import { SendMessageDto } from 'src/modules/conversations/dto/messages.dto';

export class ConversationRefDto implements ConversationRef {
  @IsUUID()
  conversationId: string;
}

export class SocketSendMessageDto extends SendMessageDto implements SocketSendMessage {
  @IsUUID()
  conversationId: string;
}
