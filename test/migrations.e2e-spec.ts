import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataSource } from 'typeorm';
import { describe, expect, it } from 'vitest';
import { buildDataSourceOptions } from 'src/database/database-options';
import { EmbeddedPostgres } from 'src/database/embedded-postgres';
import { createScratchDatabase } from 'test/support/test-app';

/**
 * The entities and the generated migrations must describe the same schema, on the embedded
 * database and on real PostgreSQL alike. If this fails: `npm run migration:generate -- Name`.
 */
async function expectNoDrift(dataSource: DataSource): Promise<void> {
  await dataSource.initialize();
  try {
    const applied = await dataSource.runMigrations();
    expect(applied.length).toBe(dataSource.migrations.length);
    const pending = await dataSource.driver.createSchemaBuilder().log();
    expect(pending.upQueries.map((query) => query.query)).toEqual([]);
    // Every migration can also be undone, back to an empty schema.
    for (let i = 0; i < applied.length; i++) await dataSource.undoLastMigration();
    const tables = await dataSource.query<{ tablename: string }[]>(
      "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'migrations'",
    );
    expect(tables).toEqual([]);
  } finally {
    await dataSource.destroy();
  }
}

describe('migrations match the entities', () => {
  it('on embedded PGlite', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'gremlins-drift-'));
    const embedded = await EmbeddedPostgres.start({ dataDir, maxConnections: 2 });
    try {
      await expectNoDrift(new DataSource(buildDataSourceOptions(embedded.connection)));
    } finally {
      await embedded.stop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('on real PostgreSQL', async () => {
    const database = await createScratchDatabase();
    try {
      await expectNoDrift(new DataSource(buildDataSourceOptions({ url: database.url })));
    } finally {
      await database.drop();
    }
  });
});
