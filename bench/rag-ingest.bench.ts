/**
 * RAG ingestion without embedding: extract → chunk, on a generated ~1 MB PDF and ~1 MB Markdown
 * file, with the knowledge-base default chunking (400 tokens, 60 overlap) and a smaller one
 * (chunks/s depends on chunk size). Target (issue 4): at least 1,000 chunks/s excluding embedding.
 *
 *   node -r @swc-node/register bench/rag-ingest.bench.ts [rounds]
 */
import { median } from 'bench/support';
import { chunkDocument } from 'src/modules/rag/chunking';
import { extractText } from 'src/modules/rag/extraction';
import type { ChunkingSettings, DocumentFormat } from 'src/modules/rag/rag.contracts';
import { makePdf, type PdfPage } from 'test/support/rag-documents';

const rounds = Number(process.argv[2] ?? 5);
const SETTINGS: ChunkingSettings[] = [
  { chunkTokens: 400, overlapTokens: 60 },
  { chunkTokens: 256, overlapTokens: 32 },
];
const TARGET_BYTES = 1024 * 1024;

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

async function measure(label: string, bytes: Buffer, format: DocumentFormat, settings: ChunkingSettings): Promise<void> {
  const extractMs: number[] = [];
  const chunkMs: number[] = [];
  let chunks = 0;
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
    chunks = result.length;
    chars = doc.sections.reduce((sum, section) => sum + section.text.length, 0);
  }
  const totals = extractMs.map((ms, index) => ms + chunkMs[index]);
  const total = median(totals);
  console.log(
    `${label.padEnd(9)}: ${(bytes.length / 1024 / 1024).toFixed(2)} MB file, ${(chars / 1024 / 1024).toFixed(2)} M chars of text, ${chunks} chunks` +
      ` | extract ${median(extractMs).toFixed(0)} ms + chunk ${median(chunkMs).toFixed(0)} ms = ${total.toFixed(0)} ms` +
      ` | ${Math.round(chunks / (total / 1000))} chunks/s (target >= 1000); chunking alone ${Math.round(chunks / (median(chunkMs) / 1000))} chunks/s`,
  );
}

async function main(): Promise<void> {
  const pdf = await buildPdf();
  const markdown = buildMarkdown();
  console.log(`node ${process.version}; medians of ${rounds} rounds after a warm-up`);
  for (const settings of SETTINGS) {
    console.log(`chunking: ${settings.chunkTokens} tokens, ${settings.overlapTokens} overlap`);
    await measure('PDF', pdf, 'pdf', settings);
    await measure('Markdown', markdown, 'markdown', settings);
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
