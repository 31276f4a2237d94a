import { HttpStatus } from '@nestjs/common';
import { AppException } from 'src/common/errors/app.exception';

export enum ConversationErrorCode {
  /** Unknown, deleted, another user's or another workspace's conversation: the same answer for all. */
  ConversationNotFound = 'CONVERSATION_NOT_FOUND',
  /** Recorded on an assistant message whose generation was stopped by its client or by shutdown. */
  GenerationAborted = 'CONVERSATION_GENERATION_ABORTED',
}

const STATUS: Record<ConversationErrorCode, HttpStatus> = {
  [ConversationErrorCode.ConversationNotFound]: HttpStatus.NOT_FOUND,
  [ConversationErrorCode.GenerationAborted]: 499 as HttpStatus,
};

export class ConversationException extends AppException {
  constructor(code: ConversationErrorCode, message: string) {
    super(code, STATUS[code], message);
  }
}

export const conversationNotFound = () => new ConversationException(ConversationErrorCode.ConversationNotFound, 'Conversation not found');
