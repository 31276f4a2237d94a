import { unwrapResolverError } from '@apollo/server/errors';
import { Logger } from '@nestjs/common';
import { GraphQLError, GraphQLFormattedError } from 'graphql';
import { CommonErrorCode } from 'src/common/errors/app.exception';
import { ErrorBody, toErrorBody } from 'src/common/errors/error-body';

const logger = new Logger('GraphQL');
const INTERNAL: ErrorBody = { statusCode: 500, code: CommonErrorCode.Internal, message: 'Internal server error' };

/** Codes of errors raised before any resolver runs (syntax, validation, variables); their messages are safe. */
export enum GraphqlRequestErrorCode {
  ParseFailed = 'GRAPHQL_PARSE_FAILED',
  ValidationFailed = 'GRAPHQL_VALIDATION_FAILED',
  BadUserInput = 'BAD_USER_INPUT',
  BadRequest = 'BAD_REQUEST',
  PersistedQueryNotFound = 'PERSISTED_QUERY_NOT_FOUND',
  PersistedQueryNotSupported = 'PERSISTED_QUERY_NOT_SUPPORTED',
  OperationResolutionFailure = 'OPERATION_RESOLUTION_FAILURE',
}
const REQUEST_ERROR_CODES = new Set<string>(Object.values(GraphqlRequestErrorCode));

/** The GraphQL form of anything thrown, with the same `{ statusCode, code, message }` as REST. */
export function toGraphQLError(error: unknown): GraphQLError {
  const body = toErrorBody(error);
  return new GraphQLError(body.message, { extensions: { ...body } });
}

/**
 * Last stop of every GraphQL error, over HTTP and WebSocket: `extensions` is always
 * `{ statusCode, code, message[, details] }`, and anything not shaped by us (a throw in a
 * plain field resolver, a scalar, a library) becomes a generic INTERNAL_ERROR, so no
 * stack trace, SQL or file path reaches a client.
 */
export function formatGraphQLError(formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError {
  const { locations, path } = formatted;
  const extensions = formatted.extensions ?? {};
  const { code, statusCode, details } = extensions;
  if (typeof code === 'string' && typeof statusCode === 'number' && code !== 'INTERNAL_SERVER_ERROR') {
    const body: ErrorBody = { statusCode, code, message: formatted.message, ...(isRecord(details) && { details }) };
    return { message: formatted.message, locations, path, extensions: { ...body } };
  }
  if (typeof code === 'string' && REQUEST_ERROR_CODES.has(code)) {
    return { message: formatted.message, locations, path, extensions: { statusCode: 400, code, message: formatted.message } };
  }
  const original = unwrapResolverError(error);
  logger.error(original instanceof Error ? (original.stack ?? original.message) : formatted.message);
  return { message: INTERNAL.message, locations, path, extensions: { ...INTERNAL } };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
