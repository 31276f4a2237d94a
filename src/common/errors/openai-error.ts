import type { ErrorBody } from 'src/common/errors/error-body';

/** Paths served in OpenAI's wire format, errors included, so OpenAI SDKs understand them. */
export const OPENAI_PATH_PREFIX = '/v1/';

export interface OpenAiErrorBody {
  error: { message: string; type: string; param: string | null; code: string };
}

/**
 * Our error, in the shape OpenAI clients parse (`error.type` drives their exception classes).
 * The code keeps ours, lower-cased, so a client can still tell QUOTA_EXCEEDED from RATE_LIMITED.
 */
export function toOpenAiError(body: ErrorBody): OpenAiErrorBody {
  const param = typeof body.details?.param === 'string' ? body.details.param : null;
  return { error: { message: body.message, type: openAiType(body), param, code: body.code.toLowerCase() } };
}

function openAiType(body: ErrorBody): string {
  if (body.code === 'QUOTA_EXCEEDED') return 'insufficient_quota';
  switch (body.statusCode) {
    case 401:
      return 'authentication_error';
    case 403:
      return 'permission_error';
    case 404:
      return 'not_found_error';
    case 429:
      return 'rate_limit_error';
    default:
      return body.statusCode >= 500 ? 'server_error' : 'invalid_request_error';
  }
}
