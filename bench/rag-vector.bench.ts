/**
 * pgvector in the embedded PGlite, through PgVectorStore as the app uses it: insert rate,
 * search latency (p50/p95) and HNSW recall@10 against exact (brute-force) search.
 *
 *   node -r @swc-node/register bench/rag-vector.bench.ts [vectors] [queries] [realTexts]
 *
 * Two corpora, each in a PGlite of its own so one's HNSW graph does not shape the other's:
 *  - text: `realTexts` (default 10,000) English sentences from the README files under
 *    node_modules (real prose on many subjects; generated sentences fill in if there are too
 *    few), embedded by the bundled Universal Sentence Encoder and upserted the way ingestion
 *    does (into the indexed table), queried with held-out sentences: the recall that matters.
 *  - scale: `vectors` (default 100,000) vectors derived from the text corpus's embeddings
 *    (a sentence's vector plus a random share of another's, plus a little noise, normalised),
 *    for search time and recall at size: embedding 100,000 real sentences would take 15
 *    minutes here. (Uniformly random 512-d vectors are no stand-in: they have no
 *    neighbourhood structure, and HNSW recall on them is near zero whatever the store.)
 *    Inserting one by one into the HNSW index runs at ~100-250 vectors/s in PGlite (WASM),
 *    too slow for a bench, so this corpus is bulk-loaded: rows first, then the same index
 *    built in one pass.
 * EMBEDDED_DB_SHARED_BUFFERS (default 16MB, the app's) sizes PGlite's buffer cache.
 */
import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { withEmbeddedVectorStore } from 'bench/embedded-vector-store';
import { UniversalSentenceEncoderEmbedder } from 'src/modules/rag/embeddings/universal-sentence-encoder.embedder';
import type { VectorRecord } from 'src/modules/rag/rag.contracts';
import { HNSW_EF_CONSTRUCTION, HNSW_M, PgVectorStore } from 'src/modules/rag/vector-stores/pg-vector.store';
import { sqlFromPool } from 'src/modules/rag/vector-stores/sql-database';

const VECTORS = Number(process.argv[2] ?? 100_000);
const QUERIES = Number(process.argv[3] ?? 200);
const REAL_TEXTS = Number(process.argv[4] ?? 10_000);
const DIMENSION = 512;
const K = 10;
const EF_SEARCH_VALUES = [40, 100, 200];
const SHARED_BUFFERS = process.env.EMBEDDED_DB_SHARED_BUFFERS ?? '16MB';

/** Seeded, so runs compare. */
function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

const gaussian = (random: () => number) => Math.sqrt(-2 * Math.log(random() || 1e-12)) * Math.cos(2 * Math.PI * random());

/** Mixtures of real sentence embeddings: the structure of text, at a size we cannot embed here. */
function textDerivedVectors(count: number, source: number[][], random: () => number): Float32Array {
  const out = new Float32Array(count * DIMENSION);
  for (let i = 0; i < count; i++) {
    const a = source[Math.floor(random() * source.length)];
    const b = source[Math.floor(random() * source.length)];
    const share = 0.5 * random();
    let norm = 0;
    for (let j = 0; j < DIMENSION; j++) {
      const value = a[j] + share * b[j] + 0.01 * gaussian(random);
      out[i * DIMENSION + j] = value;
      norm += value * value;
    }
    norm = Math.sqrt(norm);
    for (let j = 0; j < DIMENSION; j++) out[i * DIMENSION + j] /= norm;
  }
  return out;
}

const row = (data: Float32Array, i: number) => Array.from(data.subarray(i * DIMENSION, (i + 1) * DIMENSION));

/** Exact top-k by dot product (the vectors are unit length, so this is cosine). */
function exactTopK(data: Float32Array, count: number, query: number[]): number[] {
  const best: { i: number; score: number }[] = [];
  for (let i = 0; i < count; i++) {
    let score = 0;
    const offset = i * DIMENSION;
    for (let j = 0; j < DIMENSION; j++) score += data[offset + j] * query[j];
    if (best.length < K || score > best[best.length - 1].score) {
      best.push({ i, score });
      best.sort((a, b) => b.score - a.score);
      if (best.length > K) best.pop();
    }
  }
  return best.map((hit) => hit.i);
}

const percentile = (values: number[], p: number) =>
  [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor(values.length * p))];

const SUBJECTS = [
  'The engineer',
  'A nurse',
  'Our team',
  'The farmer',
  'My neighbour',
  'The committee',
  'A student',
  'The pilot',
  'The chef',
  'An investor',
  'The librarian',
  'A child',
  'The mayor',
  'The doctor',
  'A musician',
  'The company',
  'The river guide',
  'A journalist',
  'The baker',
  'The scientist',
];
const VERBS = [
  'repaired',
  'described',
  'sold',
  'painted',
  'studied',
  'delivered',
  'ignored',
  'measured',
  'cooked',
  'borrowed',
  'inspected',
  'praised',
  'photographed',
  'rebuilt',
  'explained',
  'cancelled',
  'planned',
  'found',
  'tested',
  'moved',
];
const OBJECTS = [
  'the old bridge',
  'a quarterly budget',
  'the vaccine schedule',
  'a red bicycle',
  'the harvest forecast',
  'a jazz album',
  'the solar panels',
  'a chocolate cake',
  'the train timetable',
  'a mountain map',
  'the election results',
  'a broken laptop',
  'the hospital wing',
  'a stock portfolio',
  'the school library',
  'a wooden boat',
  'the weather report',
  'a wedding dress',
  'the city park',
  'a telescope',
];
const PLACES = [
  'in Paris',
  'near the harbour',
  'before the storm',
  'during the night shift',
  'after the meeting',
  'at the market',
  'in the village',
  'on Monday morning',
  'under heavy rain',
  'at the conference',
  'in the lab',
  'by the lake',
  'for the festival',
  'despite the delay',
  'in the desert',
  'at noon',
];
const TAILS = [
  '',
  ' with great care',
  ' for the first time',
  ' to everyone’s surprise',
  ' because of rising costs',
  ' as promised',
  ' in record time',
  ' without any help',
];

function sentences(count: number, random: () => number): string[] {
  const pick = <T>(list: T[]) => list[Math.floor(random() * list.length)];
  return Array.from({ length: count }, () => `${pick(SUBJECTS)} ${pick(VERBS)} ${pick(OBJECTS)} ${pick(PLACES)}${pick(TAILS)}.`);
}

/** Prose sentences from the READMEs of installed packages, in a seeded random order. */
function readmeSentences(random: () => number): string[] {
  const files: string[] = [];
  const visit = (dir: string, depth: number) => {
    for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      if (entry.isDirectory() && depth < 2 && entry.name !== '.bin') visit(join(dir, entry.name), depth + 1);
      else if (entry.isFile() && entry.name.toLowerCase() === 'readme.md') files.push(join(dir, entry.name));
    }
  };
  visit('node_modules', 0);
  const seen = new Set<string>();
  for (const file of files) {
    const prose = readFileSync(file, 'utf8')
      .replace(/```[\s\S]*?```/g, ' ')
      .replace(/[`#*|<>[\]()_]/g, ' ')
      .replace(/\s+/g, ' ');
    for (const sentence of prose.match(/[A-Z][a-z][^.!?]{30,200}[.!?]/g) ?? []) {
      const words = sentence.split(' ').filter(Boolean);
      const letters = sentence.replace(/[^A-Za-z ]/g, '').length / sentence.length;
      if (words.length >= 6 && letters > 0.9) seen.add(sentence.trim());
    }
  }
  const list = [...seen];
  for (let i = list.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [list[i], list[j]] = [list[j], list[i]];
  }
  return list;
}

interface Corpus {
  name: string;
  data: Float32Array;
  count: number;
  queries: number[][];
  /** Load rows without the index, then build it once (see the header). */
  bulk: boolean;
}

async function measure(corpus: Corpus): Promise<void> {
  await withEmbeddedVectorStore(
    async (store, pool) => {
      const scope = { workspaceId: randomUUID(), knowledgeBaseId: randomUUID() };
      const documentId = randomUUID();
      const index = `rag_vectors_${DIMENSION}_hnsw_idx`;
      if (corpus.bulk) {
        // The store creates the table and its index on first use; take the index off for the load.
        await store.upsert([{ id: 'seed', ...scope, documentId, vector: row(corpus.data, 0) }], DIMENSION);
        await pool.query(`DELETE FROM rag_vectors_${DIMENSION}; DROP INDEX ${index}`);
      }
      const insertStarted = performance.now();
      for (let start = 0; start < corpus.count; start += 1000) {
        const records: VectorRecord[] = [];
        for (let i = start; i < Math.min(corpus.count, start + 1000); i++)
          records.push({ id: `${documentId}:${i}`, ...scope, documentId, vector: row(corpus.data, i) });
        await store.upsert(records, DIMENSION);
        if ((start / 1000) % 10 === 9)
          process.stderr.write(
            `  ${corpus.name}: ${start + 1000} inserted, ${((performance.now() - insertStarted) / 1000).toFixed(0)} s\n`,
          );
      }
      const insertSeconds = (performance.now() - insertStarted) / 1000;
      const into = corpus.bulk ? 'the table without its index' : 'the HNSW-indexed table';
      console.log(
        `${corpus.name}: upserted ${corpus.count} x ${DIMENSION}-d into ${into} in ${insertSeconds.toFixed(1)} s (${(corpus.count / insertSeconds).toFixed(0)} vectors/s)`,
      );
      if (corpus.bulk) {
        const buildStarted = performance.now();
        const client = await pool.connect();
        try {
          await client.query('BEGIN');
          // The graph must fit in maintenance_work_mem or the build falls back to a much slower on-disk mode.
          await client.query(`SELECT set_config('maintenance_work_mem', '1GB', true)`);
          await client.query(
            `CREATE INDEX ${index} ON rag_vectors_${DIMENSION} USING hnsw (embedding vector_cosine_ops) WITH (m = ${HNSW_M}, ef_construction = ${HNSW_EF_CONSTRUCTION})`,
          );
          await client.query('COMMIT');
          await client.query(`ANALYZE rag_vectors_${DIMENSION}`);
        } finally {
          client.release();
        }
        console.log(
          `  HNSW index (m=${HNSW_M}, ef_construction=${HNSW_EF_CONSTRUCTION}) built over ${corpus.count} rows in ${((performance.now() - buildStarted) / 1000).toFixed(1)} s`,
        );
      }

      const exact = corpus.queries.map((query) => exactTopK(corpus.data, corpus.count, query));
      for (const efSearch of EF_SEARCH_VALUES) {
        const tuned = new PgVectorStore(sqlFromPool(pool), { efSearch, location: 'the bench PGlite' });
        await tuned.connect();
        await tuned.search({ ...scope, vector: corpus.queries[0], limit: K }); // warm the cache
        const times: number[] = [];
        let found = 0;
        for (const [q, query] of corpus.queries.entries()) {
          const started = performance.now();
          const hits = await tuned.search({ ...scope, vector: query, limit: K });
          times.push(performance.now() - started);
          const truth = new Set(exact[q]);
          found += hits.filter((hit) => truth.has(Number(hit.id.split(':')[1]))).length;
        }
        console.log(
          `  ef_search=${String(efSearch).padEnd(3)} p50 ${percentile(times, 0.5).toFixed(1)} ms  p95 ${percentile(times, 0.95).toFixed(1)} ms  recall@${K} ${(found / (corpus.queries.length * K)).toFixed(3)}`,
        );
      }

      // The same query without the index (exact scan in SQL), for the ratio.
      const client = await pool.connect();
      try {
        const times: number[] = [];
        for (const query of corpus.queries.slice(0, 10)) {
          await client.query('BEGIN');
          await client.query(`SELECT set_config('enable_indexscan', 'off', true), set_config('enable_bitmapscan', 'off', true)`);
          const started = performance.now();
          await client.query(
            `SELECT id FROM rag_vectors_${DIMENSION} WHERE workspace_id = $1 AND knowledge_base_id = $2 ORDER BY embedding <=> $3::vector(${DIMENSION}) LIMIT ${K}`,
            [scope.workspaceId, scope.knowledgeBaseId, `[${query.join(',')}]`],
          );
          times.push(performance.now() - started);
          await client.query('COMMIT');
        }
        console.log(`  exact scan in SQL (no index), 10 queries: p50 ${percentile(times, 0.5).toFixed(1)} ms`);
        const plan = await client.query<{ 'QUERY PLAN': string }>(
          `EXPLAIN SELECT id FROM rag_vectors_${DIMENSION} WHERE workspace_id = $1 AND knowledge_base_id = $2 ORDER BY embedding <=> $3::vector(${DIMENSION}) LIMIT ${K}`,
          [scope.workspaceId, scope.knowledgeBaseId, `[${corpus.queries[0].join(',')}]`],
        );
        const usesHnsw = plan.rows.some((line) => line['QUERY PLAN'].includes('hnsw_idx'));
        console.log(`  planner uses the HNSW index: ${usesHnsw}`);
      } finally {
        client.release();
      }
    },
    { sharedBuffers: SHARED_BUFFERS },
  );
}

async function main(): Promise<void> {
  console.log(
    `rag-vector bench: ${REAL_TEXTS} embedded sentences, ${VECTORS} text-derived vectors, ${QUERIES} queries, shared_buffers ${SHARED_BUFFERS}`,
  );
  const random = prng(42);

  {
    const embedder = new UniversalSentenceEncoderEmbedder(32);
    const prose = readmeSentences(random).slice(0, REAL_TEXTS + QUERIES);
    // Queries come first from the prose, so they are always real sentences held out of the corpus.
    const texts = [
      ...prose.slice(QUERIES),
      ...sentences(Math.max(0, REAL_TEXTS + QUERIES - prose.length), random),
      ...prose.slice(0, QUERIES),
    ];
    console.log(
      `text: ${prose.length - Math.min(QUERIES, prose.length)} README sentences, ${Math.max(0, REAL_TEXTS + QUERIES - prose.length)} generated`,
    );
    const embedStarted = performance.now();
    const vectors = await embedder.embed(texts);
    const embedSeconds = (performance.now() - embedStarted) / 1000;
    await embedder.close();
    console.log(
      `text: embedded ${texts.length} sentences with use-512 in ${embedSeconds.toFixed(1)} s (${((embedSeconds * 1000) / texts.length).toFixed(1)} ms per sentence)`,
    );
    const data = new Float32Array(REAL_TEXTS * DIMENSION);
    vectors.slice(0, REAL_TEXTS).forEach((vector, i) => data.set(vector, i * DIMENSION));
    const queries = vectors.slice(REAL_TEXTS);
    await measure({ name: 'text', data, count: REAL_TEXTS, queries, bulk: false });
    if (VECTORS > 0) {
      await measure({
        name: 'scale',
        data: textDerivedVectors(VECTORS, vectors.slice(0, REAL_TEXTS), random),
        count: VECTORS,
        queries,
        bulk: true,
      });
    }
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
