/**
 * Reconciliation speed on the embedded PGlite with pgvector, through the app's RagReconciler:
 * a dry run over a consistent knowledge base, then over one with drift (some vectors deleted,
 * as many orphans added), the repair (orphans deleted, missing chunks embedded again by the
 * bundled encoder), and a last dry run that must find nothing.
 *
 *   node -r @swc-node/register bench/rag-reconcile.bench.ts [chunks] [drift]
 *
 * Defaults 20000 chunks in 20 documents, drift 500. Chunk rows are written with SQL (their
 * text is short filler) and vectors through PgVectorStore.upsert, 500 at a time into the
 * indexed table, as ingestion does: that load dominates the run (~100 s for 20,000 here).
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataSource } from 'typeorm';
import { createApp } from 'src/app';
import { loadConfig } from 'src/config/app-config';
import { VectorStore, type VectorRecord } from 'src/modules/rag/rag.contracts';
import { RagReconciler } from 'src/modules/rag/reconciliation/rag-reconciler.service';

const CHUNKS = Number(process.argv[2] ?? 20_000);
const DRIFT = Number(process.argv[3] ?? 500);
const DOCUMENTS = 20;

const vectorFor = (seed: number) => {
  const raw = Array.from({ length: 512 }, (_, i) => Math.sin(seed * 0.37 + i));
  const norm = Math.hypot(...raw);
  return raw.map((value) => value / norm);
};

async function timed<T>(label: string, work: () => Promise<T>, describe: (result: T) => string): Promise<T> {
  const started = performance.now();
  const result = await work();
  console.log(`${label.padEnd(28)} ${(performance.now() - started).toFixed(0).padStart(6)} ms  ${describe(result)}`);
  return result;
}

async function main(): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'gremlins-reconcile-bench-'));
  const app = await createApp(loadConfig({ NODE_ENV: 'test', DATA_DIR: dataDir, LOG_LEVEL: 'silent' }));
  try {
    const db = app.get(DataSource);
    const vectors = app.get(VectorStore);
    const reconciler = app.get(RagReconciler);
    const [user] = await db.query<{ id: string }[]>(`INSERT INTO users (email, name) VALUES ('bench@example.com', 'bench') RETURNING id`);
    const [workspace] = await db.query<{ id: string }[]>(`INSERT INTO workspaces (name, created_by_id) VALUES ('bench', $1) RETURNING id`, [
      user.id,
    ]);
    const [kb] = await db.query<{ id: string }[]>(
      `INSERT INTO knowledge_bases (workspace_id, name, embedder_id, dimension, created_by) VALUES ($1, 'bench', 'use-512', 512, $2) RETURNING id`,
      [workspace.id, user.id],
    );
    const scope = { workspaceId: workspace.id, knowledgeBaseId: kb.id };
    const perDocument = Math.ceil(CHUNKS / DOCUMENTS);
    const ids: string[] = [];
    const loadStarted = performance.now();
    for (let d = 0; d < DOCUMENTS; d += 1) {
      const documentId = randomUUID();
      await db.query(
        `INSERT INTO rag_documents (id, workspace_id, knowledge_base_id, name, format, size_bytes, sha256, storage_key, status, progress, created_by)
         VALUES ($1, $2, $3, $4, 'text', 1, $5, $6, 'indexed', 100, $7)`,
        [documentId, workspace.id, kb.id, `doc-${d}`, `sha-${d}`, `bench/${d}`, user.id],
      );
      await db.query(
        `INSERT INTO rag_chunks (id, document_id, knowledge_base_id, workspace_id, chunk_index, text, headings, start_offset, end_offset, token_count, tsv)
         SELECT $1 || ':' || i, $1::uuid, $2::uuid, $3::uuid, i, 'Chunk ' || i || ' of the bench document ' || $4::text, '{}', 0, 1, 8, to_tsvector('english', 'chunk')
         FROM generate_series(0, $5 - 1) AS i`,
        [documentId, kb.id, workspace.id, String(d), perDocument],
      );
      for (let start = 0; start < perDocument; start += 500) {
        const records: VectorRecord[] = [];
        for (let i = start; i < Math.min(start + 500, perDocument); i += 1) {
          records.push({ id: `${documentId}:${i}`, ...scope, documentId, vector: vectorFor(d * perDocument + i) });
          ids.push(`${documentId}:${i}`);
        }
        await vectors.upsert(records, 512);
      }
    }
    console.log(`loaded ${ids.length} chunk rows and vectors in ${((performance.now() - loadStarted) / 1000).toFixed(0)} s\n`);

    const summary = (report: Awaited<ReturnType<RagReconciler['run']>>) => {
      const { chunks, vectors: walked, orphanVectors, missingVectors, deletedVectors, reembeddedChunks } = report.totals;
      return `chunks ${chunks}, vectors ${walked}, orphans ${orphanVectors}, missing ${missingVectors}, deleted ${deletedVectors}, re-embedded ${reembeddedChunks}`;
    };
    for (let round = 1; round <= 3; round += 1) {
      await timed(`dry run, consistent (${round})`, () => reconciler.run({ dryRun: true }), summary);
    }

    const step = Math.floor(ids.length / DRIFT);
    await vectors.deleteIds(
      scope,
      Array.from({ length: DRIFT }, (_, i) => ids[i * step]),
    );
    const ghost = randomUUID();
    for (let start = 0; start < DRIFT; start += 500) {
      await vectors.upsert(
        Array.from({ length: Math.min(500, DRIFT - start) }, (_, i) => ({
          id: `${ghost}:${start + i}`,
          ...scope,
          documentId: ghost,
          vector: vectorFor(-1 - start - i),
        })),
        512,
      );
    }
    await timed('dry run, with drift', () => reconciler.run({ dryRun: true }), summary);
    await timed('repair', () => reconciler.run({}), summary);
    const last = await timed('dry run, after repair', () => reconciler.run({ dryRun: true }), summary);
    if (last.totals.differences !== 0) throw new Error(`differences left after repair: ${last.totals.differences}`);
  } finally {
    await app.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
