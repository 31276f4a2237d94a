/**
 * RAG ingestion without embedding: extract → chunk → index, on a generated ~1 MB PDF and ~1 MB
 * Markdown file, with the knowledge-base default chunking (400 tokens, 60 overlap) and a
 * smaller one (chunks/s depends on chunk size). Target (issue 4): at least 1,000 chunks/s
 * excluding embedding.
 *
 * The index stage writes the chunks' vectors the way ingestion does (PgVectorStore.upsert, 64
 * at a time, into the HNSW-indexed table) into a fresh embedded PGlite per document, the
 * default store. Its vectors come from a hashed bag of words (the chunk's words, each a fixed
 * pseudo-random direction, summed and normalised): instant to compute, so embedding time is
 * out of the figure, yet with text's neighbourhood structure, which is what HNSW inserts
 * cost depends on. With BENCH_PGVECTOR_URL (a PostgreSQL that has the `vector` extension)
 * the same stage also runs there. Chunk rows (full text) are written by TypeORM in the same
 * steps in the app; they are not in this figure.
 *
 *   node -r @swc-node/register bench/rag-ingest.bench.ts [rounds]
 */
import { randomUUID } from 'node:crypto';
import { Pool } from 'pg';
import { withEmbeddedVectorStore } from 'bench/embedded-vector-store';
import { median } from 'bench/support';
import { chunkDocument } from 'src/modules/rag/chunking';
import { extractText } from 'src/modules/rag/extraction';
import type { ChunkingSettings, DocumentFormat, TextChunk, VectorRecord } from 'src/modules/rag/rag.contracts';
import { PgVectorStore } from 'src/modules/rag/vector-stores/pg-vector.store';
import { sqlFromPool } from 'src/modules/rag/vector-stores/sql-database';
import { makePdf, type PdfPage } from 'test/support/rag-documents';

const rounds = Number(process.argv[2] ?? 5);
const SETTINGS: ChunkingSettings[] = [
  { chunkTokens: 400, overlapTokens: 60 },
  { chunkTokens: 256, overlapTokens: 32 },
];
const TARGET_BYTES = 1024 * 1024;
const DIMENSION = 512;
/** As IngestionService: chunks embedded and written per step. */
const INDEX_STEP = 64;
const PGVECTOR_URL = process.env.BENCH_PGVECTOR_URL;

const WORDS = (
  'the of and to in is that for it as was with be by on not he this are or his from at which but have an they you were ' +
  'their one all we can her has there been if more when will would who so no retrieval index document search vector ' +
  'harbour quarterly revenue engineer deployment latency throughput region policy contract invoice customer schedule'
).split(' ');

/** Deterministic pseudo-random prose (a linear congruential generator), so every run measures the same text. */
function proseGenerator(seed: number) {
  let state = seed;
  const next = () => (state = (state * 1103515245 + 12345) % 2147483648) / 2147483648;
  return (sentences: number) =>
    Array.from({ length: sentences }, () => {
      const words = Array.from({ length: 8 + Math.floor(next() * 14) }, () => WORDS[Math.floor(next() * WORDS.length)]);
      words[0] = words[0][0].toUpperCase() + words[0].slice(1);
      return `${words.join(' ')}${next() < 0.15 ? ',' : ''} ${Math.floor(next() * 1000)}.`;
    }).join(' ');
}

async function buildPdf(): Promise<Buffer> {
  const prose = proseGenerator(7);
  const pages: PdfPage[] = [];
  let bytes: Buffer = Buffer.alloc(0);
  // pdfkit compresses content streams: add pages until the file itself reaches the target size.
  while (bytes.length < TARGET_BYTES) {
    for (let page = 0; page < 50; page++) {
      pages.push({ heading: `Section ${pages.length + 1}`, paragraphs: [prose(6), prose(6), prose(5)] });
    }
    bytes = await makePdf(pages);
  }
  return bytes;
}

function buildMarkdown(): Buffer {
  const prose = proseGenerator(11);
  const parts: string[] = [];
  let length = 0;
  for (let chapter = 1; length < TARGET_BYTES; chapter++) {
    const chapterParts = [`# Chapter ${chapter}`, prose(4)];
    for (let section = 1; section <= 4; section++) {
      chapterParts.push(`## Section ${chapter}.${section}`, prose(7), prose(5));
      chapterParts.push(`- ${prose(1)}\n- ${prose(1)}\n- ${prose(1)}`);
      chapterParts.push('```ts\n# not a heading\nconst total = items.reduce((sum, item) => sum + item.price, 0);\n```');
      chapterParts.push(`### Notes ${chapter}.${section}`, prose(6));
    }
    const text = chapterParts.join('\n\n');
    parts.push(text);
    length += text.length + 2;
  }
  return Buffer.from(parts.join('\n\n'));
}

/** Each word a fixed pseudo-random unit direction; a text the normalised sum of its words'. */
function hashedBagOfWords(text: string): number[] {
  const vector = new Float64Array(DIMENSION);
  for (const word of text.toLowerCase().match(/[a-z0-9]+/g) ?? []) {
    let hash = 2166136261;
    for (let i = 0; i < word.length; i++) hash = Math.imul(hash ^ word.charCodeAt(i), 16777619);
    for (let d = 0; d < 8; d++) {
      hash = Math.imul(hash ^ (hash >>> 15), 2246822519);
      vector[(hash >>> 0) % DIMENSION] += hash & 1 ? 1 : -1;
    }
  }
  const norm = Math.hypot(...vector) || 1;
  return Array.from(vector, (value) => value / norm);
}

interface IndexTarget {
  name: string;
  /** Runs `work` against a store holding nothing yet. */
  withStore<T>(work: (store: PgVectorStore) => Promise<T>): Promise<T>;
}

const embeddedPglite: IndexTarget = { name: 'PGlite', withStore: (work) => withEmbeddedVectorStore(work) };

const postgresWithPgvector = (url: string): IndexTarget => ({
  name: 'PostgreSQL',
  async withStore(work) {
    const pool = new Pool({ connectionString: url, max: 2 });
    try {
      const store = new PgVectorStore(sqlFromPool(pool), { efSearch: 40, location: 'BENCH_PGVECTOR_URL' });
      await store.connect();
      return await work(store);
    } finally {
      await pool.query(`DROP TABLE IF EXISTS rag_vectors_${DIMENSION}`);
      await pool.end();
    }
  },
});

/** Writes the chunks' vectors as ingestion does, into a fresh store; returns the milliseconds spent writing. */
function indexChunks(target: IndexTarget, chunks: TextChunk[], vectors: number[][]): Promise<number> {
  return target.withStore(async (store) => {
    const scope = { workspaceId: randomUUID(), knowledgeBaseId: randomUUID() };
    const documentId = randomUUID();
    const started = performance.now();
    for (let done = 0; done < chunks.length; done += INDEX_STEP) {
      const records: VectorRecord[] = chunks
        .slice(done, done + INDEX_STEP)
        .map((chunk, offset) => ({ id: `${documentId}:${chunk.index}`, ...scope, documentId, vector: vectors[done + offset] }));
      await store.upsert(records, DIMENSION);
    }
    return performance.now() - started;
  });
}

async function measure(
  label: string,
  bytes: Buffer,
  format: DocumentFormat,
  settings: ChunkingSettings,
  targets: IndexTarget[],
): Promise<void> {
  const extractMs: number[] = [];
  const chunkMs: number[] = [];
  let chunks: TextChunk[] = [];
  let chars = 0;
  for (let round = -1; round < rounds; round++) {
    const started = performance.now();
    const doc = await extractText({ bytes, format });
    const extracted = performance.now();
    const result = chunkDocument(doc, settings);
    const chunked = performance.now();
    if (round < 0) continue; // warm-up: module loading and JIT
    extractMs.push(extracted - started);
    chunkMs.push(chunked - extracted);
    chunks = result;
    chars = doc.sections.reduce((sum, section) => sum + section.text.length, 0);
  }
  const count = chunks.length;
  const extractAndChunk = median(extractMs.map((ms, index) => ms + chunkMs[index]));
  const perSecond = (ms: number) => Math.round(count / (ms / 1000));
  console.log(
    `${label.padEnd(9)}: ${(bytes.length / 1024 / 1024).toFixed(2)} MB file, ${(chars / 1024 / 1024).toFixed(2)} M chars of text, ${count} chunks` +
      ` | extract ${median(extractMs).toFixed(0)} ms + chunk ${median(chunkMs).toFixed(0)} ms = ${extractAndChunk.toFixed(0)} ms` +
      ` (${perSecond(extractAndChunk)} chunks/s; chunking alone ${perSecond(median(chunkMs))} chunks/s)`,
  );
  // Vectors are made once, outside the timed index stage (embedding is not in the figure).
  const vectors = chunks.map((chunk) => hashedBagOfWords(chunk.text));
  for (const target of targets) {
    const indexMs: number[] = [];
    // Index rounds are costly in PGlite (a fresh database each): at most 2.
    for (let round = 0; round < Math.min(rounds, 2); round++) indexMs.push(await indexChunks(target, chunks, vectors));
    const index = median(indexMs);
    console.log(
      `${''.padEnd(9)}  + index into ${target.name}: ${index.toFixed(0)} ms (${perSecond(index)} vectors/s)` +
        ` | extract → chunk → index ${perSecond(extractAndChunk + index)} chunks/s (target >= 1000)`,
    );
  }
}

async function main(): Promise<void> {
  const pdf = await buildPdf();
  const markdown = buildMarkdown();
  const targets = [embeddedPglite, ...(PGVECTOR_URL ? [postgresWithPgvector(PGVECTOR_URL)] : [])];
  console.log(`node ${process.version}; medians of ${rounds} rounds after a warm-up (index: of ${Math.min(rounds, 2)})`);
  if (!PGVECTOR_URL) console.log('index into PostgreSQL: skipped (set BENCH_PGVECTOR_URL to a PostgreSQL with pgvector)');
  for (const settings of SETTINGS) {
    console.log(`chunking: ${settings.chunkTokens} tokens, ${settings.overlapTokens} overlap`);
    await measure('PDF', pdf, 'pdf', settings, targets);
    await measure('Markdown', markdown, 'markdown', settings, targets);
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
