import { DataSourceOptions } from 'typeorm';
import { SnakeNamingStrategy } from 'src/database/snake-naming.strategy';
import { ENTITIES } from 'src/database/entities';
import { MIGRATIONS } from 'src/database/migrations';
import { PgConnectionOptions } from 'src/database/embedded-postgres';

export const POOL_SIZE = 10;

/** One place that turns a connection target into TypeORM options, for the app and scripts alike. */
export function buildDataSourceOptions(target: { url: string } | PgConnectionOptions): DataSourceOptions {
  return {
    type: 'postgres',
    ...('url' in target ? { url: target.url } : target),
    entities: ENTITIES,
    migrations: MIGRATIONS,
    migrationsRun: false,
    migrationsTransactionMode: 'each',
    synchronize: false,
    // gen_random_uuid() is built into PostgreSQL 13+ and available in PGlite; uuid-ossp is not.
    uuidExtension: 'pgcrypto',
    installExtensions: false,
    namingStrategy: new SnakeNamingStrategy(),
    extra: { max: POOL_SIZE },
    // Failed queries surface as exceptions and are logged by the error filter when they matter.
    logging: false,
  };
}
