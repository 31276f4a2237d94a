/**
 * Generates a migration from the difference between the entities and the schema that the
 * existing migrations produce, using a throwaway embedded database (no server needed).
 *
 *   npm run migration:generate -- AddThing
 */
import 'reflect-metadata';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataSource } from 'typeorm';
import { buildDataSourceOptions } from 'src/database/database-options';
import { EmbeddedPostgres } from 'src/database/embedded-postgres';

async function main(): Promise<void> {
  const name = process.argv[2];
  if (!name || !/^[A-Z][A-Za-z0-9]+$/.test(name)) {
    throw new Error('Usage: npm run migration:generate -- PascalCaseName');
  }
  const dataDir = mkdtempSync(join(tmpdir(), 'gremlins-migrate-'));
  const embedded = await EmbeddedPostgres.start({ dataDir, maxConnections: 2 });
  const dataSource = new DataSource(buildDataSourceOptions(embedded.connection));
  try {
    await dataSource.initialize();
    await dataSource.runMigrations();
    const sql = await dataSource.driver.createSchemaBuilder().log();
    if (sql.upQueries.length === 0) {
      console.log('Entities and migrations already match; nothing to generate.');
      return;
    }
    const timestamp = Date.now();
    const className = `${name}${timestamp}`;
    const fileName = `${timestamp}-${name}`;
    const render = (queries: typeof sql.upQueries) =>
      queries
        .map(
          (q) =>
            `    await queryRunner.query(${JSON.stringify(q.query)}${q.parameters?.length ? `, ${JSON.stringify(q.parameters)}` : ''});`,
        )
        .join('\n');
    const body = `import { MigrationInterface, QueryRunner } from 'typeorm';

export class ${className} implements MigrationInterface {
  name = '${className}';

  public async up(queryRunner: QueryRunner): Promise<void> {
${render(sql.upQueries)}
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
${render([...sql.downQueries].reverse())}
  }
}
`;
    writeFileSync(join('migrations', `${fileName}.ts`), body);
    writeMigrationIndex();
    console.log(`Wrote migrations/${fileName}.ts (${sql.upQueries.length} statements)`);
  } finally {
    if (dataSource.isInitialized) await dataSource.destroy();
    await embedded.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/** Rewrites migrations/index.ts from the folder, so the list can never miss a file. */
function writeMigrationIndex(): void {
  const files = readdirSync('migrations')
    .filter((file) => /^\d+-[A-Za-z0-9]+\.ts$/.test(file))
    .sort();
  const entries = files.map((file) => {
    const [timestamp, name] = file.replace(/\.ts$/, '').split('-');
    return { file: file.replace(/\.ts$/, ''), className: `${name}${timestamp}` };
  });
  const lines = [
    '// Written by `npm run migration:generate`: every migration class, oldest first.',
    ...entries.map((e) => `import { ${e.className} } from './${e.file}';`),
    '',
    `export const MIGRATIONS: Function[] = [${entries.map((e) => e.className).join(', ')}];`,
    '',
  ];
  writeFileSync(join('migrations', 'index.ts'), lines.join('\n'));
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
