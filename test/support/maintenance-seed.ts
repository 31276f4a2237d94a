import { randomBytes, randomUUID } from 'node:crypto';

type Query = (sql: string, params?: unknown[]) => Promise<unknown>;

const daysAgo = (days: number) => new Date(Date.now() - days * 24 * 3600 * 1000);

export interface SeededRows {
  /** Past every retention: maintenance must delete these. */
  stale: { sessions: string[]; apiKeys: string[]; auditEvents: string[] };
  /** Ended or written recently: maintenance must keep these. */
  fresh: { sessions: string[]; apiKeys: string[]; auditEvents: string[] };
}

/**
 * Writes rows straight into the database, dated in the past, for a user and workspace that
 * exist. With the default retention (credentials 30 days, audit 365) the stale ones go.
 */
export async function seedMaintenanceRows(query: Query, userId: string, workspaceId: string): Promise<SeededRows> {
  const session = async (expiresAt: Date, revokedAt: Date | null) => {
    const id = randomUUID();
    await query(`INSERT INTO sessions (id, user_id, method, expires_at, revoked_at) VALUES ($1, $2, 'password', $3, $4)`, [
      id,
      userId,
      expiresAt,
      revokedAt,
    ]);
    return id;
  };
  const apiKey = async (expiresAt: Date | null, revokedAt: Date | null) => {
    const id = randomUUID();
    await query(
      `INSERT INTO api_keys (id, prefix, secret_hash, name, user_id, workspace_id, permissions, expires_at, revoked_at)
       VALUES ($1, $2, $3, 'seeded', $4, $5, '{}', $6, $7)`,
      [id, randomBytes(6).toString('hex'), randomBytes(32).toString('hex'), userId, workspaceId, expiresAt, revokedAt],
    );
    return id;
  };
  const auditEvent = async (createdAt: Date) => {
    const id = randomUUID();
    await query(`INSERT INTO audit_events (id, action, created_at, metadata) VALUES ($1, 'auth.logout', $2, '{}')`, [id, createdAt]);
    return id;
  };
  return {
    stale: {
      sessions: [await session(daysAgo(40), null), await session(daysAgo(-5), daysAgo(31))],
      apiKeys: [await apiKey(daysAgo(45), null), await apiKey(null, daysAgo(60))],
      auditEvents: [await auditEvent(daysAgo(400))],
    },
    fresh: {
      sessions: [await session(daysAgo(2), null), await session(daysAgo(-5), daysAgo(1))],
      apiKeys: [await apiKey(daysAgo(3), null), await apiKey(null, daysAgo(5))],
      auditEvents: [await auditEvent(daysAgo(300))],
    },
  };
}

/** Which of the given ids still exist in each table. */
export async function remainingRows(query: Query, ids: SeededRows['stale']): Promise<SeededRows['stale']> {
  const present = async (table: string, wanted: string[]) => {
    const rows = (await query(`SELECT id FROM ${table} WHERE id = ANY($1::uuid[])`, [wanted])) as
      { id: string }[] | { rows: { id: string }[] };
    return (Array.isArray(rows) ? rows : rows.rows).map((row) => row.id).sort();
  };
  return {
    sessions: await present('sessions', ids.sessions),
    apiKeys: await present('api_keys', ids.apiKeys),
    auditEvents: await present('audit_events', ids.auditEvents),
  };
}
