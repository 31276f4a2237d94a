/**
 * Writes docs/schema.graphql from the running code. A test fails when the committed file
 * and the code disagree:  npm run graphql:schema
 */
import 'reflect-metadata';
import { GraphQLSchemaHost } from '@nestjs/graphql';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApp } from 'src/app';
import { loadConfig } from 'src/config/app-config';
import { printSchemaFile, SCHEMA_FILE } from 'src/graphql/schema-file';

async function main(): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'gremlins-graphql-'));
  const app = await createApp(loadConfig({ NODE_ENV: 'test', DATA_DIR: dataDir, LOG_LEVEL: 'silent' }));
  try {
    writeFileSync(SCHEMA_FILE, printSchemaFile(app.get(GraphQLSchemaHost).schema));
    console.log(`Wrote ${SCHEMA_FILE}`);
  } finally {
    await app.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
