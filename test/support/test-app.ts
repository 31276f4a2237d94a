import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { createApp } from 'src/app';
import { loadConfig } from 'src/config/app-config';
import { deleteRedisKeysAt } from 'test/support/redis';

export type DatabaseKind = 'embedded' | 'postgres';

/** The real PostgreSQL and Redis of this machine (see shared/MACHINE.md); override by env. */
export const POSTGRES_ADMIN_URL = process.env.TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
export const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
export const NATS_URL = process.env.TEST_NATS_URL ?? 'nats://127.0.0.1:4222';

export interface TestApp {
  app: NestFastifyApplication;
  baseUrl: string;
  dataDir: string;
  close(): Promise<void>;
}

export interface TestAppOptions {
  database?: DatabaseKind;
  /** Use this machine's Redis for rate limits, cache and fan-out. */
  redis?: boolean;
  env?: Record<string, string>;
}

/**
 * Boots the real application on a random port with a throwaway data folder (embedded) or
 * a throwaway database on the local PostgreSQL.
 */
export async function startTestApp(options: TestAppOptions = {}): Promise<TestApp> {
  const dataDir = mkdtempSync(join(tmpdir(), 'gremlins-test-'));
  const database = options.database === 'postgres' ? await createScratchDatabase() : undefined;
  const config = loadConfig({
    NODE_ENV: 'test',
    DATA_DIR: dataDir,
    LOG_LEVEL: 'silent',
    ...(database && { DATABASE_URL: database.url }),
    // This machine's PostgreSQL has no pgvector: vectors go to a PGlite in the test's folder.
    ...((database || options.env?.DATABASE_URL) && { PGVECTOR_URL: 'embedded' }),
    // A fresh key prefix per app keeps counters and cache entries of parallel test files
    // apart on the shared Redis; pass REDIS_KEY_PREFIX in `env` to make apps share state.
    ...(options.redis && { REDIS_URL: REDIS_URL, REDIS_KEY_PREFIX: `test:${randomBytes(6).toString('hex')}:` }),
    ...options.env,
  });
  const app = await createApp(config);
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.getHttpServer().address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    app,
    baseUrl: `http://127.0.0.1:${port}`,
    dataDir,
    async close() {
      await app.close();
      await database?.drop();
      // Apps that chose their own prefix share it with others: whoever chose it cleans up.
      if (options.redis && !options.env?.REDIS_KEY_PREFIX) await deleteRedisKeysAt(REDIS_URL, config.redisKeyPrefix);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export async function createScratchDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `gremlins_test_${randomBytes(6).toString('hex')}`;
  const admin = new Client({ connectionString: POSTGRES_ADMIN_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(POSTGRES_ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const client = new Client({ connectionString: POSTGRES_ADMIN_URL });
      await client.connect();
      await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await client.end();
    },
  };
}
