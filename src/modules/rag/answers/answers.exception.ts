import { HttpStatus } from '@nestjs/common';
import { AppException } from 'src/common/errors/app.exception';

export enum AnswerErrorCode {
  /** Retrieval works, but no chat model is configured or none can serve now. */
  NoChatModel = 'RAG_NO_CHAT_MODEL',
}

const STATUS: Record<AnswerErrorCode, HttpStatus> = {
  [AnswerErrorCode.NoChatModel]: HttpStatus.SERVICE_UNAVAILABLE,
};

export class AnswerException extends AppException {
  constructor(code: AnswerErrorCode, message: string) {
    super(code, STATUS[code], message);
  }
}
