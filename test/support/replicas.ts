import { randomBytes } from 'node:crypto';
import { deleteRedisKeysAt } from 'test/support/redis';
import { createScratchDatabase, REDIS_URL, startTestApp, TestApp } from 'test/support/test-app';

export interface Replicas {
  apps: TestApp[];
  close(): Promise<void>;
}

/**
 * Starts `count` app instances that act as replicas of one deployment: one scratch
 * PostgreSQL database, one JWT secret and one Redis key prefix (so quota counters, caches
 * and invalidations are shared), each on its own port with its own in-process state.
 */
export async function startReplicas(count: number, env: Record<string, string> = {}): Promise<Replicas> {
  const database = await createScratchDatabase();
  const shared = {
    DATABASE_URL: database.url,
    JWT_SECRET: randomBytes(32).toString('base64url'),
    REDIS_KEY_PREFIX: `test:${randomBytes(6).toString('hex')}:`,
    ...env,
  };
  const apps: TestApp[] = [];
  try {
    // One after the other: the first runs the migrations the others then find done.
    for (let i = 0; i < count; i++) apps.push(await startTestApp({ redis: true, env: shared }));
  } catch (error) {
    await Promise.all(apps.map((app) => app.close()));
    await database.drop();
    throw error;
  }
  return {
    apps,
    async close() {
      await Promise.all(apps.map((app) => app.close()));
      await database.drop();
      await deleteRedisKeysAt(REDIS_URL, shared.REDIS_KEY_PREFIX);
    },
  };
}

/**
 * Fires `count` calls at once (the i-th gets `i`, e.g. to alternate replicas) and splits
 * the outcomes, for races such as "no replica lets a caller spend past a quota".
 */
export async function race<T>(count: number, call: (index: number) => Promise<T>): Promise<{ fulfilled: T[]; rejected: unknown[] }> {
  const results = await Promise.allSettled(Array.from({ length: count }, (_, index) => call(index)));
  return {
    fulfilled: results.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : [])),
    rejected: results.flatMap((result) => (result.status === 'rejected' ? [result.reason as unknown] : [])),
  };
}
