import { GraphQLError, GraphQLScalarType } from 'graphql';

/**
 * Free-form server data (audit metadata). Output only: accepting it as input would let a
 * client past the class-validator rules that every input type goes through.
 */
export const JsonObjectScalar = new GraphQLScalarType<Record<string, unknown>, Record<string, unknown>>({
  name: 'JSONObject',
  description: 'A JSON object produced by the server. Never accepted as input.',
  serialize(value) {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new GraphQLError('JSONObject must be an object');
    return value as Record<string, unknown>;
  },
  parseValue() {
    throw new GraphQLError('JSONObject is output-only');
  },
  parseLiteral() {
    throw new GraphQLError('JSONObject is output-only');
  },
});
