import { HttpStatus } from '@nestjs/common';
import { AppException } from 'src/common/errors/app.exception';

export enum GatewayErrorCode {
  /** The request's text is over CHAT_MAX_PROMPT_CHARS. */
  PromptTooLarge = 'PROMPT_TOO_LARGE',
  /** Shape or limits of the request (messages, max tokens) are not acceptable. */
  InvalidRequest = 'INVALID_CHAT_REQUEST',
  /** The model exists but does not produce embeddings. */
  ModelCannotEmbed = 'MODEL_CANNOT_EMBED',
}

const STATUS: Record<GatewayErrorCode, HttpStatus> = {
  [GatewayErrorCode.PromptTooLarge]: HttpStatus.PAYLOAD_TOO_LARGE,
  [GatewayErrorCode.InvalidRequest]: HttpStatus.BAD_REQUEST,
  [GatewayErrorCode.ModelCannotEmbed]: HttpStatus.BAD_REQUEST,
};

export class GatewayException extends AppException {
  constructor(code: GatewayErrorCode, message: string, details?: Record<string, unknown>) {
    super(code, STATUS[code], message, details);
  }
}
