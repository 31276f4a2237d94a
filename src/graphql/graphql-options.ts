import { ApolloDriverConfig } from '@nestjs/apollo';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { GraphQLError, OperationTypeNode, ValidationRule } from 'graphql';
import { AppConfig } from 'src/config/app-config';
import { formatGraphQLError } from 'src/graphql/graphql-errors';
import { OPERATION_LIMITS, operationLimitRules } from 'src/graphql/operation-limits';

/** Served at the root, outside the REST prefix, over HTTP and WebSocket alike. */
export const GRAPHQL_PATH = '/graphql';

/** Over HTTP a subscription would run once, with no event to resolve: say where it belongs instead. */
const subscriptionsNeedWebSocket: ValidationRule = (context) => ({
  OperationDefinition(operation) {
    if (operation.operation === OperationTypeNode.SUBSCRIPTION) {
      context.reportError(
        new GraphQLError(`Subscriptions are served over WebSocket (graphql-ws protocol) at ${GRAPHQL_PATH}`, { nodes: [operation] }),
      );
    }
  },
});

export function apolloOptions(config: AppConfig): ApolloDriverConfig {
  return {
    path: GRAPHQL_PATH,
    // Code first: the schema is built in memory from the decorators; docs/schema.graphql is
    // its checked-in print (npm run graphql:schema), held current by a test.
    autoSchemaFile: true,
    sortSchema: true,
    // The GraphiQL page loads its assets from a CDN and is a developer tool: development only.
    graphiql: config.nodeEnv === 'development',
    introspection: !config.isProduction,
    // No "did you mean" hints that would reveal the schema where introspection is off.
    hideSchemaDetailsFromClientErrors: config.isProduction,
    includeStacktraceInErrorResponses: false,
    // Our exception filter already gives every error its code; Nest's own HTTP-error mapping would rename them.
    autoTransformHttpErrors: false,
    formatError: formatGraphQLError,
    validationRules: [...operationLimitRules, subscriptionsNeedWebSocket],
    parseOptions: { maxTokens: OPERATION_LIMITS.maxTokens },
    // `req` is what the auth guard and @Auth() read (see request-context.ts); `reply` takes rate-limit headers.
    context: (request: FastifyRequest, reply: FastifyReply) => ({ req: request, reply }),
  };
}
