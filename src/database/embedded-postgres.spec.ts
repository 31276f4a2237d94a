import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DataDirLockedError, EmbeddedPostgres } from 'src/database/embedded-postgres';

describe('EmbeddedPostgres', () => {
  let dataDir: string;
  let db: EmbeddedPostgres;

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'gremlins-embedded-'));
    db = await EmbeddedPostgres.start({ dataDir, maxConnections: 4 });
  });
  const clientConfig = () => ({ ...db.connection, user: db.connection.username });

  afterAll(async () => {
    await db?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('serves the pg driver, with pgvector and gen_random_uuid available', async () => {
    const client = new Client(clientConfig());
    await client.connect();
    const { rows } = await client.query<{ distance: number; id: string }>(
      "SELECT '[1,0,0]'::vector <=> '[0,1,0]'::vector AS distance, gen_random_uuid()::text AS id",
    );
    await client.end();
    expect(rows[0].distance).toBeCloseTo(1);
    expect(rows[0].id).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('keeps a transaction on one connection isolated from queries on another', async () => {
    const a = new Client(clientConfig());
    const b = new Client(clientConfig());
    await Promise.all([a.connect(), b.connect()]);
    await a.query('CREATE TABLE IF NOT EXISTS tx_probe (n int)');
    await a.query('BEGIN');
    await a.query('INSERT INTO tx_probe VALUES (1)');
    // b's query waits until a's transaction ends, then sees the rolled-back state.
    const seen = b.query<{ count: string }>('SELECT count(*) FROM tx_probe');
    await a.query('ROLLBACK');
    expect((await seen).rows[0].count).toBe('0');
    await Promise.all([a.end(), b.end()]);
  });

  it("never runs one connection's parameters through another's statement, however large the statements", async () => {
    // A large Parse/Bind arrives over several socket reads; small queries race it from another connection.
    const big = new Client(clientConfig());
    const small = new Client(clientConfig());
    await Promise.all([big.connect(), small.connect()]);
    await big.query('CREATE TABLE IF NOT EXISTS interleave_probe (id int, payload text, note text)');
    const payload = 'x'.repeat(400_000);
    const writes = Array.from({ length: 20 }, (_, i) =>
      big.query('INSERT INTO interleave_probe (id, payload, note) VALUES ($1, $2, $3)', [i, payload, `big-${i}`]),
    );
    const reads = Array.from({ length: 200 }, (_, i) =>
      small.query<{ sum: number }>('SELECT $1::int + $2::int + $3::int + $4::int + $5::int AS sum', [i, 1, 2, 3, 4]),
    );
    const [written, read] = await Promise.all([Promise.all(writes), Promise.all(reads)]);
    expect(written).toHaveLength(20);
    expect(read.map((result) => result.rows[0].sum)).toEqual(Array.from({ length: 200 }, (_, i) => i + 10));
    const { rows } = await small.query<{ n: string; ok: string }>(
      "SELECT count(*) AS n, count(*) FILTER (WHERE length(payload) = 400000 AND note = 'big-' || id) AS ok FROM interleave_probe",
    );
    expect(rows[0]).toEqual({ n: '20', ok: '20' });
    await Promise.all([big.end(), small.end()]);
  });

  it('refuses a second owner of the same folder in this process', async () => {
    await expect(EmbeddedPostgres.start({ dataDir, maxConnections: 1 })).rejects.toBeInstanceOf(DataDirLockedError);
  });

  it('refuses a second owner in another process with a clear message', () => {
    const script = `
      require('@swc-node/register');
      const { EmbeddedPostgres } = require('./src/database/embedded-postgres.ts');
      EmbeddedPostgres.start({ dataDir: ${JSON.stringify(dataDir)}, maxConnections: 1 })
        .then(() => { console.log('STARTED'); process.exit(0); })
        .catch((e) => { console.log(e.name + ': ' + e.message); process.exit(3); });`;
    const result = spawnSync(process.execPath, ['-e', script], { cwd: process.cwd(), encoding: 'utf8', timeout: 60_000 });
    expect(result.status).toBe(3);
    expect(result.stdout).toMatch(/DataDirLockedError: The embedded database in .* is already owned by another running GremlinsAI process/);
  });
});
