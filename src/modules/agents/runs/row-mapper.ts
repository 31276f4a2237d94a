import type { DataSource, EntityTarget, ObjectLiteral } from 'typeorm';

/**
 * Turns a row returned as JSON by a hand-written statement (`RETURNING to_jsonb(t)`) into the
 * entity TypeORM would have loaded: snake_case columns to properties, timestamps to dates.
 * The hot path of the engine uses such statements to do in one round trip what the query
 * builder would take several for.
 */
export function hydrate<T extends ObjectLiteral>(dataSource: DataSource, entity: EntityTarget<T>, row: Record<string, unknown>): T {
  const metadata = dataSource.getMetadata(entity);
  const result: Record<string, unknown> = {};
  for (const column of metadata.columns) {
    const value = row[column.databaseName];
    const isTime = column.type === 'timestamptz' || column.isCreateDate || column.isUpdateDate;
    result[column.propertyName] = isTime && typeof value === 'string' ? new Date(value) : (value ?? null);
  }
  return result as T;
}
