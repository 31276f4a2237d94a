import { GraphQLError } from 'graphql';
import { Logger } from '@nestjs/common';
import { beforeAll, describe, expect, it } from 'vitest';
import { CommonErrors } from 'src/common/errors/app.exception';
import { formatGraphQLError, toGraphQLError } from 'src/graphql/graphql-errors';

describe('formatGraphQLError', () => {
  // The internal errors below are logged by design; keep the test output readable.
  beforeAll(() => Logger.overrideLogger(false));

  it('keeps the code, status and details our exception filter set', () => {
    const error = toGraphQLError(CommonErrors.validation('name is too long', { field: 'name' }));
    expect(formatGraphQLError({ ...error.toJSON(), path: ['createWorkspace'] }, error)).toEqual({
      message: 'name is too long',
      path: ['createWorkspace'],
      locations: undefined,
      extensions: { statusCode: 400, code: 'VALIDATION_FAILED', message: 'name is too long', details: { field: 'name' } },
    });
  });

  it('keeps request-level errors (syntax, validation, variables) with status 400', () => {
    const formatted = formatGraphQLError(
      { message: 'Cannot query field "x" on type "Query".', extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } },
      undefined,
    );
    expect(formatted.extensions).toEqual({
      statusCode: 400,
      code: 'GRAPHQL_VALIDATION_FAILED',
      message: 'Cannot query field "x" on type "Query".',
    });
  });

  it('turns anything else into a generic internal error: no message, stack or path of ours leaks', () => {
    const leaky = new Error('relation "users" does not exist at /srv/app/dist/users.repository.js:12');
    const formatted = formatGraphQLError(
      { message: leaky.message, path: ['users'], extensions: { code: 'INTERNAL_SERVER_ERROR', stacktrace: leaky.stack?.split('\n') } },
      new GraphQLError(leaky.message, { originalError: leaky }),
    );
    expect(formatted).toEqual({
      message: 'Internal server error',
      path: ['users'],
      locations: undefined,
      extensions: { statusCode: 500, code: 'INTERNAL_ERROR', message: 'Internal server error' },
    });
  });

  it('does not trust a code without a status (a library error that happens to carry one)', () => {
    expect(
      formatGraphQLError({ message: 'ECONNREFUSED 10.0.0.5:5432', extensions: { code: 'ECONNREFUSED' } }, undefined).extensions?.code,
    ).toBe('INTERNAL_ERROR');
  });
});
