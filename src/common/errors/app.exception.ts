import { HttpStatus } from '@nestjs/common';

/**
 * The one error type services throw. Each module declares its codes and their HTTP status
 * in its own `*.exception.ts`; the global filter renders every error as
 * `{ statusCode, code, message }` on REST and with the same `code` on GraphQL and sockets.
 */
export class AppException extends Error {
  constructor(
    readonly code: string,
    readonly status: HttpStatus,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = 'AppException';
  }
}

/** Codes shared by every module. */
export enum CommonErrorCode {
  ValidationFailed = 'VALIDATION_FAILED',
  MalformedBody = 'MALFORMED_BODY',
  PayloadTooLarge = 'PAYLOAD_TOO_LARGE',
  UnsupportedMediaType = 'UNSUPPORTED_MEDIA_TYPE',
  Unauthenticated = 'UNAUTHENTICATED',
  Forbidden = 'FORBIDDEN',
  NotFound = 'NOT_FOUND',
  Conflict = 'CONFLICT',
  RateLimited = 'RATE_LIMITED',
  ServiceUnavailable = 'SERVICE_UNAVAILABLE',
  Internal = 'INTERNAL_ERROR',
}

export const CommonErrors = {
  validation: (message: string, details?: Record<string, unknown>) =>
    new AppException(CommonErrorCode.ValidationFailed, HttpStatus.BAD_REQUEST, message, details),
  unauthenticated: (message = 'Authentication required') =>
    new AppException(CommonErrorCode.Unauthenticated, HttpStatus.UNAUTHORIZED, message),
  forbidden: (message = 'You do not have permission to do this') =>
    new AppException(CommonErrorCode.Forbidden, HttpStatus.FORBIDDEN, message),
  /** Also used for objects that exist in another workspace: never reveal that they exist. */
  notFound: (what: string) => new AppException(CommonErrorCode.NotFound, HttpStatus.NOT_FOUND, `${what} not found`),
};
