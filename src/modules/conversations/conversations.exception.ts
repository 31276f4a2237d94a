import { HttpStatus } from '@nestjs/common';
import { AppException } from 'src/common/errors/app.exception';

export enum ConversationErrorCode {
  /** Unknown, deleted, another user's or another workspace's conversation: the same answer for all. */
  ConversationNotFound = 'CONVERSATION_NOT_FOUND',
  /** Recorded on an assistant message whose generation was stopped by its client or by shutdown. */
  GenerationAborted = 'CONVERSATION_GENERATION_ABORTED',
  /**
   * A grounded conversation's knowledge bases could not be searched at all (no `rag` process
   * reachable, or retrieval failed): the turn is stored as `error` rather than answered ungrounded.
   */
  GroundingUnavailable = 'CONVERSATION_GROUNDING_UNAVAILABLE',
}

const STATUS: Record<ConversationErrorCode, HttpStatus> = {
  [ConversationErrorCode.ConversationNotFound]: HttpStatus.NOT_FOUND,
  [ConversationErrorCode.GenerationAborted]: 499 as HttpStatus,
  [ConversationErrorCode.GroundingUnavailable]: HttpStatus.SERVICE_UNAVAILABLE,
};

export class ConversationException extends AppException {
  constructor(code: ConversationErrorCode, message: string, details?: Record<string, unknown>) {
    super(code, STATUS[code], message, details);
  }
}

export const conversationNotFound = () => new ConversationException(ConversationErrorCode.ConversationNotFound, 'Conversation not found');
