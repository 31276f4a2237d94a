import { GraphQLSchema, printSchema } from 'graphql';

/** The checked-in print of the schema, for clients and review; regenerate with `npm run graphql:schema`. */
export const SCHEMA_FILE = 'docs/schema.graphql';

export function printSchemaFile(schema: GraphQLSchema): string {
  return `# Generated from the code by \`npm run graphql:schema\`; test/graphql.e2e-spec.ts fails when it drifts.\n\n${printSchema(schema)}\n`;
}
