import type { Pool } from 'pg';
import type { DataSource } from 'typeorm';

export interface SqlSession {
  /** Rows of a SELECT or a RETURNING clause; the result of other statements is not used. */
  query<Row>(sql: string, params?: unknown[]): Promise<Row[]>;
}

/** The little the pgvector store needs from a PostgreSQL connection, whichever kind it is. */
export interface SqlDatabase extends SqlSession {
  /** Runs `work` on one connection inside a transaction (for `SET LOCAL`-style settings). */
  transaction<T>(work: (session: SqlSession) => Promise<T>): Promise<T>;
}

/** The app's own database (PGlite or DATABASE_URL), through its TypeORM pool. */
export function sqlFromDataSource(dataSource: DataSource): SqlDatabase {
  return {
    query: <Row>(sql: string, params?: unknown[]) => dataSource.query<Row[]>(sql, params),
    transaction: (work) =>
      dataSource.transaction((manager) => work({ query: <Row>(sql: string, params?: unknown[]) => manager.query<Row[]>(sql, params) })),
  };
}

/** A database of its own (PGVECTOR_URL). */
export function sqlFromPool(pool: Pool): SqlDatabase {
  return {
    query: async <Row>(sql: string, params?: unknown[]) => (await pool.query(sql, params)).rows as Row[],
    async transaction(work) {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        const result = await work({
          query: async <Row>(sql: string, params?: unknown[]) => (await client.query(sql, params)).rows as Row[],
        });
        await client.query('COMMIT');
        return result;
      } catch (error) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw error;
      } finally {
        client.release();
      }
    },
  };
}
