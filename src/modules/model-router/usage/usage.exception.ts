import { HttpStatus } from '@nestjs/common';
import { AppException } from 'src/common/errors/app.exception';
import type { QuotaPeriod, QuotaScope } from 'src/modules/model-router/usage/quota-windows';

export enum UsageErrorCode {
  /** A token quota of the caller's workspace, user or API key has no room for the request. */
  QuotaExceeded = 'QUOTA_EXCEEDED',
  /** The counter store (Redis) could not be reached: calls under a quota are refused rather than let through uncounted. */
  QuotaUnavailable = 'QUOTA_UNAVAILABLE',
  QuotaNotFound = 'QUOTA_NOT_FOUND',
  /** The workspace, user or API key a quota would apply to does not exist. */
  QuotaSubjectNotFound = 'QUOTA_SUBJECT_NOT_FOUND',
  InvalidUsageQuery = 'USAGE_INVALID_QUERY',
}

const STATUS: Record<UsageErrorCode, HttpStatus> = {
  [UsageErrorCode.QuotaExceeded]: HttpStatus.TOO_MANY_REQUESTS,
  [UsageErrorCode.QuotaUnavailable]: HttpStatus.SERVICE_UNAVAILABLE,
  [UsageErrorCode.QuotaNotFound]: HttpStatus.NOT_FOUND,
  [UsageErrorCode.QuotaSubjectNotFound]: HttpStatus.NOT_FOUND,
  [UsageErrorCode.InvalidUsageQuery]: HttpStatus.BAD_REQUEST,
};

export class UsageException extends AppException {
  constructor(code: UsageErrorCode, message: string, details?: Record<string, unknown>) {
    super(code, STATUS[code], message, details);
  }
}

export interface QuotaExceededDetails {
  scope: QuotaScope;
  period: QuotaPeriod;
  limitTokens: number;
  usedTokens: number;
  /** ISO time the window resets. */
  resetAt: string;
  /** Whole seconds until then, rounded up: what a `Retry-After` header would carry. */
  retryAfterSeconds: number;
}

const PERIOD_WORD: Record<QuotaPeriod, string> = { day: 'daily', month: 'monthly' };
const SCOPE_WORD: Record<QuotaScope, string> = { workspace: 'workspace', user: 'user', 'api-key': 'API key' };

/** 429 naming the quota that has no room left; `details` say which, how full, and when it resets. */
export class QuotaExceededException extends UsageException {
  declare readonly details: QuotaExceededDetails & Record<string, unknown>;

  constructor(quota: { scope: QuotaScope; period: QuotaPeriod; limitTokens: number }, usedTokens: number, resetAt: Date, now: Date) {
    const details: QuotaExceededDetails = {
      scope: quota.scope,
      period: quota.period,
      limitTokens: quota.limitTokens,
      usedTokens,
      resetAt: resetAt.toISOString(),
      retryAfterSeconds: Math.max(1, Math.ceil((resetAt.getTime() - now.getTime()) / 1000)),
    };
    super(
      UsageErrorCode.QuotaExceeded,
      `The ${PERIOD_WORD[quota.period]} token quota of this ${SCOPE_WORD[quota.scope]} (${quota.limitTokens} tokens) ` +
        `has too little left for this request (${usedTokens} used); it resets at ${details.resetAt}`,
      { ...details },
    );
  }
}
