import { describe, expect, it } from 'vitest';
import { chunkDocument, documentText } from 'src/modules/rag/chunking/chunk-document';
import { approximateTokenCount } from 'src/modules/rag/chunking/token-approximation';
import type { ExtractedDocument, ExtractedSection, TextChunk } from 'src/modules/rag/rag.contracts';
import { RagErrorCode, RagException } from 'src/modules/rag/rag.exception';

const doc = (sections: Partial<ExtractedSection>[]): ExtractedDocument => ({
  format: 'text',
  sections: sections.map((section) => ({ text: '', page: null, headings: [], ...section })),
  pageCount: null,
});

/** Deterministic prose: sentence n is unique, so overlaps and coverage can be checked by text. */
function prose(sentences: number, offset = 0): string {
  return Array.from(
    { length: sentences },
    (_, index) => `Sentence ${index + offset} talks about topic ${(index + offset) % 7} in plain words.`,
  ).join(' ');
}

function paragraphs(count: number, sentencesEach: number): string {
  return Array.from({ length: count }, (_, index) => prose(sentencesEach, index * 1000)).join('\n\n');
}

function expectWellFormed(document: ExtractedDocument, chunks: TextChunk[], chunkTokens: number): void {
  const full = documentText(document);
  chunks.forEach((chunk, index) => {
    expect(chunk.index).toBe(index);
    expect(full.slice(chunk.start, chunk.end)).toBe(chunk.text);
    expect(chunk.text).toBe(chunk.text.trim());
    expect(chunk.tokenCount).toBe(approximateTokenCount(chunk.text));
    expect(chunk.tokenCount).toBeGreaterThan(0);
    expect(chunk.tokenCount).toBeLessThanOrEqual(chunkTokens);
  });
}

/** Every token of the document lies inside some chunk. */
function expectCovered(document: ExtractedDocument, chunks: TextChunk[]): void {
  const full = documentText(document);
  const covered = new Uint8Array(full.length);
  for (const chunk of chunks) covered.fill(1, chunk.start, chunk.end);
  for (let offset = 0; offset < full.length; offset++) {
    if (!/\s/.test(full[offset])) expect(covered[offset], `offset ${offset} (${JSON.stringify(full.slice(offset, offset + 20))})`).toBe(1);
  }
}

describe('chunkDocument', () => {
  it('keeps a small document in one chunk at offset 0', () => {
    const document = doc([{ text: 'Short note.' }]);
    expect(chunkDocument(document, { chunkTokens: 64, overlapTokens: 8 })).toEqual([
      { index: 0, text: 'Short note.', page: null, headings: [], start: 0, end: 11, tokenCount: 3 },
    ]);
  });

  it('splits at paragraph ends when paragraphs fit, merging them up to the size', () => {
    const document = doc([{ text: paragraphs(12, 4) }]);
    const chunks = chunkDocument(document, { chunkTokens: 128, overlapTokens: 0 });
    expectWellFormed(document, chunks, 128);
    expectCovered(document, chunks);
    const full = documentText(document);
    for (const chunk of chunks) {
      expect(chunk.end === full.length || full.slice(chunk.end, chunk.end + 2) === '\n\n').toBe(true);
    }
    // Each paragraph is 40 tokens: three fit in 128, four do not.
    expect(chunks.every((chunk) => chunk.tokenCount === 120)).toBe(true);
    expect(chunks.length).toBe(4);
  });

  it('goes down to sentences, words and finally between tokens for text without structure', () => {
    const longParagraph = doc([{ text: prose(200) }]);
    const bySentence = chunkDocument(longParagraph, { chunkTokens: 64, overlapTokens: 0 });
    expectWellFormed(longParagraph, bySentence, 64);
    expect(bySentence.every((chunk) => chunk.text.endsWith('.'))).toBe(true);

    const noPunctuation = doc([{ text: Array.from({ length: 3000 }, (_, index) => `word${index}`).join(' ') }]);
    const byWord = chunkDocument(noPunctuation, { chunkTokens: 100, overlapTokens: 0 });
    expectWellFormed(noPunctuation, byWord, 100);
    expectCovered(noPunctuation, byWord);

    const oneHugeToken = doc([{ text: 'ab'.repeat(20_000) }]);
    const byToken = chunkDocument(oneHugeToken, { chunkTokens: 50, overlapTokens: 0 });
    expectWellFormed(oneHugeToken, byToken, 50);
    expect(byToken.map((chunk) => chunk.text).join('')).toBe('ab'.repeat(20_000));
    expect(byToken.every((chunk) => chunk.text.length <= 50 * 8)).toBe(true);

    const cjk = doc([{ text: '東京は日本の首都です。'.repeat(200) }]);
    const byCjkSentence = chunkDocument(cjk, { chunkTokens: 40, overlapTokens: 0 });
    expectWellFormed(cjk, byCjkSentence, 40);
    expect(byCjkSentence.every((chunk) => chunk.text.endsWith('。'))).toBe(true);
  });

  it('repeats the tail of the previous chunk at the start of the next', () => {
    const document = doc([{ text: paragraphs(20, 5) }]);
    const settings = { chunkTokens: 96, overlapTokens: 16 };
    const chunks = chunkDocument(document, settings);
    expectWellFormed(document, chunks, 96);
    expectCovered(document, chunks);
    const full = documentText(document);
    for (let index = 1; index < chunks.length; index++) {
      const previous = chunks[index - 1];
      const chunk = chunks[index];
      expect(chunk.start).toBeLessThan(previous.end);
      expect(chunk.start).toBeGreaterThan(previous.start);
      const repeated = full.slice(chunk.start, previous.end);
      expect(previous.text.endsWith(repeated)).toBe(true);
      expect(chunk.text.startsWith(repeated)).toBe(true);
      const repeatedTokens = approximateTokenCount(repeated);
      expect(repeatedTokens).toBeGreaterThan(0);
      expect(repeatedTokens).toBeLessThanOrEqual(16);
      // The overlap starts at a word, not inside one.
      expect(/\s/.test(full[chunk.start - 1])).toBe(true);
    }
  });

  it('never mixes pages, and restarts overlap on each page', () => {
    const pages = [1, 2, 3].map((page) => ({ text: paragraphs(6, 4).replaceAll('Sentence', `P${page}`), page }));
    const document = { ...doc(pages), format: 'pdf' as const, pageCount: 3 };
    const chunks = chunkDocument(document, { chunkTokens: 80, overlapTokens: 10 });
    expectWellFormed(document, chunks, 80);
    expectCovered(document, chunks);
    for (const chunk of chunks) {
      expect(chunk.text).not.toMatch(new RegExp(`P(?!${chunk.page}\\b)\\d`));
    }
    expect(new Set(chunks.map((chunk) => chunk.page))).toEqual(new Set([1, 2, 3]));
    const firstOfPage2 = chunks.find((chunk) => chunk.page === 2)!;
    expect(firstOfPage2.text.startsWith('P2 0 ')).toBe(true);
  });

  it('never mixes heading paths, but joins consecutive sections with the same path', () => {
    const document = doc([
      { text: 'Intro words.', headings: [] },
      { text: '## Setup\nSetup words.', headings: ['Guide', 'Setup'] },
      { text: 'More setup words.', headings: ['Guide', 'Setup'] },
      { text: '## Usage\nUsage words.', headings: ['Guide', 'Usage'] },
    ]);
    const chunks = chunkDocument(document, { chunkTokens: 64, overlapTokens: 8 });
    expectWellFormed(document, chunks, 64);
    expect(chunks.map((chunk) => [chunk.headings, chunk.text])).toEqual([
      [[], 'Intro words.'],
      [['Guide', 'Setup'], '## Setup\nSetup words.\n\nMore setup words.'],
      [['Guide', 'Usage'], '## Usage\nUsage words.'],
    ]);
  });

  it('is deterministic, byte for byte', () => {
    const document = doc([
      { text: paragraphs(30, 6), page: 1 },
      { text: prose(300), page: 2 },
    ]);
    const settings = { chunkTokens: 200, overlapTokens: 40 };
    const first = chunkDocument(document, settings);
    const second = chunkDocument(structuredClone(document), settings);
    expect(JSON.stringify(second)).toBe(JSON.stringify(first));
  });

  it('does not share heading arrays with the input', () => {
    const document = doc([{ text: 'a', headings: ['H'] }]);
    const [chunk] = chunkDocument(document, { chunkTokens: 32, overlapTokens: 0 });
    chunk.headings.push('changed');
    expect(document.sections[0].headings).toEqual(['H']);
  });

  it('chunks a megabyte of text', () => {
    const text = paragraphs(3200, 6);
    expect(text.length).toBeGreaterThan(1_000_000);
    const document = doc([{ text }]);
    const chunks = chunkDocument(document, { chunkTokens: 256, overlapTokens: 32 });
    expect(chunks.length).toBeGreaterThan(1000);
    expect(chunks.at(-1)!.end).toBe(text.length);
  });

  it('refuses settings out of range', () => {
    const document = doc([{ text: 'x' }]);
    for (const settings of [
      { chunkTokens: 31, overlapTokens: 0 },
      { chunkTokens: 4097, overlapTokens: 0 },
      { chunkTokens: 64.5, overlapTokens: 0 },
      { chunkTokens: 64, overlapTokens: 32 },
      { chunkTokens: 64, overlapTokens: -1 },
      { chunkTokens: 64, overlapTokens: 1.5 },
      { chunkTokens: Number.NaN, overlapTokens: 0 },
    ]) {
      let caught: unknown;
      try {
        chunkDocument(document, settings);
      } catch (error) {
        caught = error;
      }
      expect(caught, JSON.stringify(settings)).toBeInstanceOf(RagException);
      expect((caught as RagException).code).toBe(RagErrorCode.InvalidChunkingSettings);
      expect((caught as RagException).status).toBe(400);
    }
    expect(chunkDocument(document, { chunkTokens: 64, overlapTokens: 31 })).toHaveLength(1);
    expect(chunkDocument(document, { chunkTokens: 4096, overlapTokens: 0 })).toHaveLength(1);
  });
});
