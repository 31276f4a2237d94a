import { HttpException, HttpStatus } from '@nestjs/common';
import { ThrottlerException } from '@nestjs/throttler';
import { AppException, CommonErrorCode } from 'src/common/errors/app.exception';

export interface ErrorBody {
  statusCode: number;
  code: string;
  message: string;
  details?: Record<string, unknown>;
}

const STATUS_CODES: Partial<Record<number, CommonErrorCode>> = {
  [HttpStatus.BAD_REQUEST]: CommonErrorCode.ValidationFailed,
  [HttpStatus.UNAUTHORIZED]: CommonErrorCode.Unauthenticated,
  [HttpStatus.FORBIDDEN]: CommonErrorCode.Forbidden,
  [HttpStatus.NOT_FOUND]: CommonErrorCode.NotFound,
  [HttpStatus.CONFLICT]: CommonErrorCode.Conflict,
  [HttpStatus.PAYLOAD_TOO_LARGE]: CommonErrorCode.PayloadTooLarge,
  [HttpStatus.UNSUPPORTED_MEDIA_TYPE]: CommonErrorCode.UnsupportedMediaType,
  [HttpStatus.TOO_MANY_REQUESTS]: CommonErrorCode.RateLimited,
  [HttpStatus.SERVICE_UNAVAILABLE]: CommonErrorCode.ServiceUnavailable,
};

interface FastifyLikeError {
  code?: string;
  statusCode?: number;
  message: string;
}

/**
 * Turns anything thrown anywhere into the one public error shape. Unknown errors become a
 * generic 500 so that internals (SQL, stack traces, file paths) never reach a client.
 */
export function toErrorBody(error: unknown): ErrorBody {
  if (error instanceof AppException) {
    return { statusCode: error.status, code: error.code, message: error.message, ...(error.details && { details: error.details }) };
  }
  if (error instanceof ThrottlerException) {
    return {
      statusCode: 429,
      code: CommonErrorCode.RateLimited,
      message: 'Too many requests; retry after the time in the Retry-After header',
    };
  }
  // Fastify's own errors (body parsing, limits) reach us wrapped by Nest's adapter.
  const fastifyError = (error instanceof HttpException ? error.cause : error) as FastifyLikeError | undefined;
  if (typeof fastifyError?.code === 'string' && fastifyError.code.startsWith('FST_') && typeof fastifyError.statusCode === 'number') {
    return fromFastifyError(fastifyError as FastifyLikeError & { statusCode: number });
  }
  if (error instanceof HttpException) {
    const status = error.getStatus();
    const response = error.getResponse();
    const raw = typeof response === 'object' && response !== null ? (response as { message?: unknown }).message : response;
    const messages = Array.isArray(raw) ? raw.map(String) : [typeof raw === 'string' ? raw : error.message];
    return {
      statusCode: status,
      code: STATUS_CODES[status] ?? (status >= 500 ? CommonErrorCode.Internal : CommonErrorCode.ValidationFailed),
      message: messages.join('; '),
      ...(messages.length > 1 && { details: { errors: messages } }),
    };
  }
  return { statusCode: 500, code: CommonErrorCode.Internal, message: 'Internal server error' };
}

function fromFastifyError(error: FastifyLikeError & { statusCode: number }): ErrorBody {
  switch (error.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return { statusCode: 413, code: CommonErrorCode.PayloadTooLarge, message: 'Request body is too large' };
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return { statusCode: 415, code: CommonErrorCode.UnsupportedMediaType, message: 'Unsupported Content-Type' };
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return { statusCode: 400, code: CommonErrorCode.MalformedBody, message: 'Request body is not valid JSON' };
    default:
      return {
        statusCode: error.statusCode,
        code: STATUS_CODES[error.statusCode] ?? (error.statusCode >= 500 ? CommonErrorCode.Internal : CommonErrorCode.MalformedBody),
        message: error.statusCode >= 500 ? 'Internal server error' : error.message,
      };
  }
}
