import { PGlite } from '@electric-sql/pglite';
import { pgcrypto } from '@electric-sql/pglite/contrib/pgcrypto';
import { vector } from '@electric-sql/pglite-pgvector';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import { batchExtendedProtocolMessages } from 'src/database/pglite-message-batching';
import { Logger } from '@nestjs/common';
import { chmodSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import lockfile from 'proper-lockfile';

/** Unix socket paths are capped at ~107 bytes by the kernel; beyond that we use loopback TCP. */
const MAX_UNIX_SOCKET_PATH = 100;
const SOCKET_FILE = '.s.PGSQL.5432';
export const DEFAULT_SHARED_BUFFERS = '16MB';

export class DataDirLockedError extends Error {
  constructor(dir: string) {
    super(
      `The embedded database in ${dir} is already owned by another running GremlinsAI process. ` +
        'Stop that process, point DATA_DIR at another folder, or set DATABASE_URL to use PostgreSQL.',
    );
    this.name = 'DataDirLockedError';
  }
}

export interface EmbeddedPostgresOptions {
  dataDir: string;
  /** Pool connections the app will open; the socket server must accept at least this many. */
  maxConnections: number;
  /**
   * PostgreSQL's buffer cache inside the WASM heap. PostgreSQL's 128MB default is most of
   * an idle process's memory; 16MB serves an embedded deployment's working set.
   */
  sharedBuffers?: string;
}

export interface PgConnectionOptions {
  host: string;
  port: number;
  username: string;
  database: string;
}

/**
 * PGlite (Postgres compiled to WASM) with pgvector, owned by this process and served to the
 * ordinary `pg` driver through pglite-socket, so TypeORM and every query builder work
 * unchanged against it.
 *
 * PGlite is single-session: pglite-socket multiplexes pool connections onto that one
 * session and holds other connections' queries while one connection has a transaction
 * open. Nothing in the app may rely on session state (SET, temp tables, LISTEN).
 */
export class EmbeddedPostgres {
  private readonly logger = new Logger(EmbeddedPostgres.name);

  private constructor(
    private readonly db: PGlite,
    private readonly server: PGLiteSocketServer,
    private readonly releaseLock: () => Promise<void>,
    readonly connection: PgConnectionOptions,
  ) {}

  static async start(options: EmbeddedPostgresOptions): Promise<EmbeddedPostgres> {
    const folder = join(options.dataDir, 'pglite');
    mkdirSync(folder, { recursive: true, mode: 0o700 });
    const releaseLock = await acquireOwnership(folder);
    try {
      const db = await PGlite.create({
        dataDir: folder,
        extensions: { vector, pgcrypto },
        startParams: [...PGlite.defaultStartParams, '-c', `shared_buffers=${options.sharedBuffers ?? DEFAULT_SHARED_BUFFERS}`],
      });
      await db.exec('CREATE EXTENSION IF NOT EXISTS vector; CREATE EXTENSION IF NOT EXISTS pgcrypto;');
      const { server, connection } = await serve(db, options);
      return new EmbeddedPostgres(db, server, releaseLock, connection);
    } catch (error) {
      await releaseLock();
      throw error;
    }
  }

  async stop(): Promise<void> {
    try {
      await this.server.stop();
      await this.db.close();
    } catch (error) {
      this.logger.warn(`Embedded database did not stop cleanly: ${String(error)}`);
    } finally {
      await this.releaseLock();
    }
  }
}

async function acquireOwnership(folder: string): Promise<() => Promise<void>> {
  try {
    // proper-lockfile refreshes the lock's mtime while we live; a lock left by a crashed
    // process goes stale after `stale` ms and can then be taken over.
    return await lockfile.lock(folder, { lockfilePath: `${folder}.lock`, stale: 10_000, update: 2_000, retries: 0 });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ELOCKED') throw new DataDirLockedError(folder);
    throw error;
  }
}

async function serve(
  db: PGlite,
  options: EmbeddedPostgresOptions,
): Promise<{ server: PGLiteSocketServer; connection: PgConnectionOptions }> {
  // Leave headroom over the pool so a reconnecting pool never gets "too many connections".
  const maxConnections = options.maxConnections + 4;
  const socketDir = join(options.dataDir, 'run');
  const socketPath = join(socketDir, SOCKET_FILE);
  const base = { username: 'postgres', database: 'postgres' };

  // A Unix socket inside a 0700 folder keeps other local users off the database, which has
  // no password; TCP on loopback is the fallback for very long DATA_DIR paths.
  if (socketPath.length <= MAX_UNIX_SOCKET_PATH && process.platform !== 'win32') {
    mkdirSync(socketDir, { recursive: true, mode: 0o700 });
    chmodSync(socketDir, 0o700);
    rmSync(socketPath, { force: true }); // left by a crashed owner; we hold the lock now
    const server = new PGLiteSocketServer({ db, path: socketPath, maxConnections });
    batchExtendedProtocolMessages(server);
    await server.start();
    return { server, connection: { ...base, host: socketDir, port: 5432 } };
  }
  const server = new PGLiteSocketServer({ db, host: '127.0.0.1', port: 0, maxConnections });
  batchExtendedProtocolMessages(server);
  await server.start();
  const port = Number(server.getServerConn().split(':').pop());
  return { server, connection: { ...base, host: '127.0.0.1', port } };
}
