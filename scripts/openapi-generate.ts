/**
 * Writes docs/openapi.json from the running code. A test fails when the committed file and
 * the code disagree:  npm run openapi:generate
 */
import 'reflect-metadata';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApp } from 'src/app';
import { loadConfig } from 'src/config/app-config';
import { buildOpenApiDocument } from 'src/openapi';

export const OPENAPI_PATH = join('docs', 'openapi.json');

async function main(): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'gremlins-openapi-'));
  const app = await createApp(loadConfig({ NODE_ENV: 'test', DATA_DIR: dataDir, LOG_LEVEL: 'silent' }));
  try {
    writeFileSync(OPENAPI_PATH, `${JSON.stringify(buildOpenApiDocument(app), null, 2)}\n`);
    console.log(`Wrote ${OPENAPI_PATH}`);
  } finally {
    await app.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
