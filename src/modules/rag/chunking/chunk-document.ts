import type { ChunkingSettings, ExtractedDocument, ExtractedSection, TextChunk } from 'src/modules/rag/rag.contracts';
import { validateChunkingSettings } from 'src/modules/rag/chunking/chunking-settings';
import { firstTokenAtOrAfter, tokenSpans, tokensBetween, type TokenSpans } from 'src/modules/rag/chunking/token-approximation';

/** Sections are joined with this to make the document's full text, which chunk offsets index into. */
export const SECTION_SEPARATOR = '\n\n';

/**
 * The text chunk offsets refer to: the sections' text joined by a blank line. Search results
 * report `start`/`end` into this string, and `documentText(doc).slice(chunk.start, chunk.end)`
 * is always exactly `chunk.text`.
 */
export function documentText(doc: ExtractedDocument): string {
  return doc.sections.map((section) => section.text).join(SECTION_SEPARATOR);
}

interface Range {
  start: number;
  end: number;
}

/**
 * Where a piece may be cut, coarsest first. `cut` ends the piece before the match (plus the
 * length of group 1, so a sentence keeps its full stop); the next piece starts after the match.
 * Below words, pieces are cut between tokens.
 */
const BOUNDARIES: RegExp[] = [
  /\n[^\S\n]*\n\s*/g, // paragraphs
  /\n\s*/g, // lines
  /([.!?…]+[)"'”’\]]*)\s+|([。！？]+)\s*/g, // sentences
  /\s+/g, // words
];

/**
 * Structure-aware recursive splitting. Chunks never span two pages or two headings: each run of
 * consecutive sections with the same page and heading path is split on its own, at paragraphs,
 * then lines, sentences, words and finally between tokens, only going finer where a piece is
 * too big; pieces that fit are merged back up to the size limit.
 *
 * Sizes: each chunk holds at most `chunkTokens` tokens (see token-approximation), of which the
 * first chunk of a run has up to `chunkTokens - overlapTokens` of new text, and each later one
 * starts with up to `overlapTokens` tokens from the end of the previous chunk (snapped forward
 * to a word start) followed by up to `chunkTokens - overlapTokens` tokens of new text. The
 * overlap is part of the text and of the offsets: chunks of a run overlap as ranges of the
 * document text, and `documentText(doc).slice(start, end) === text` for every chunk.
 *
 * Deterministic: the same document and settings give the same chunks, byte for byte.
 */
export function chunkDocument(doc: ExtractedDocument, settings: ChunkingSettings): TextChunk[] {
  validateChunkingSettings(settings);
  const text = documentText(doc);
  const spans = tokenSpans(text);
  const splitter = new RangeSplitter(text, spans, settings.chunkTokens - settings.overlapTokens);
  const chunks: TextChunk[] = [];

  for (const run of sectionRuns(doc.sections)) {
    const bodies: Range[] = [];
    splitter.split(trim(text, run.range), 0, bodies);
    bodies.forEach((body, position) => {
      const start = position === 0 ? body.start : overlapStart(spans, body, bodies[position - 1], settings.overlapTokens);
      chunks.push({
        index: chunks.length,
        text: text.slice(start, body.end),
        page: run.section.page,
        headings: [...run.section.headings],
        start,
        end: body.end,
        tokenCount: tokensBetween(spans, start, body.end),
      });
    });
  }
  return chunks;
}

/** Consecutive sections that share page and heading path, as one range of the document text. */
function* sectionRuns(sections: ExtractedSection[]): Generator<{ section: ExtractedSection; range: Range }> {
  let offset = 0;
  let current: { section: ExtractedSection; range: Range } | null = null;
  for (const section of sections) {
    const range = { start: offset, end: offset + section.text.length };
    offset = range.end + SECTION_SEPARATOR.length;
    if (current && sameContext(current.section, section)) {
      current.range.end = range.end;
      continue;
    }
    if (current) yield current;
    current = { section, range };
  }
  if (current) yield current;
}

function sameContext(a: ExtractedSection, b: ExtractedSection): boolean {
  return a.page === b.page && a.headings.length === b.headings.length && a.headings.every((heading, i) => heading === b.headings[i]);
}

/** Up to `overlapTokens` tokens before `body`, not reaching back past the previous chunk's new text. */
function overlapStart(spans: TokenSpans, body: Range, previous: Range, overlapTokens: number): number {
  const bodyToken = firstTokenAtOrAfter(spans, body.start);
  let token = Math.max(bodyToken - overlapTokens, firstTokenAtOrAfter(spans, previous.start));
  // Start on a word, not inside one or on the punctuation that closes one.
  while (token < bodyToken && token > 0 && spans.starts[token] === spans.ends[token - 1]) token++;
  return token < bodyToken ? spans.starts[token] : body.start;
}

class RangeSplitter {
  constructor(
    private readonly text: string,
    private readonly spans: TokenSpans,
    private readonly budget: number,
  ) {}

  /** Appends to `out` ranges of at most `budget` tokens covering every token of `range`, in order. */
  split(range: Range, level: number, out: Range[]): void {
    if (range.start >= range.end) return;
    if (this.tokens(range.start, range.end) <= this.budget) {
      out.push(range);
      return;
    }
    if (level >= BOUNDARIES.length) {
      this.splitBetweenTokens(range, out);
      return;
    }
    const pieces = this.pieces(range, BOUNDARIES[level]);
    if (pieces.length <= 1) {
      this.split(range, level + 1, out);
      return;
    }
    let merged: Range | null = null;
    for (const piece of pieces) {
      if (this.tokens(piece.start, piece.end) > this.budget) {
        if (merged) out.push(merged);
        merged = null;
        this.split(piece, level + 1, out);
      } else if (merged && this.tokens(merged.start, piece.end) <= this.budget) {
        merged.end = piece.end;
      } else {
        if (merged) out.push(merged);
        merged = { start: piece.start, end: piece.end };
      }
    }
    if (merged) out.push(merged);
  }

  private pieces(range: Range, boundary: RegExp): Range[] {
    const slice = this.text.slice(range.start, range.end);
    const pieces: Range[] = [];
    let pieceStart = 0;
    boundary.lastIndex = 0;
    for (let match = boundary.exec(slice); match !== null; match = boundary.exec(slice)) {
      const kept = (match[1] ?? match[2] ?? '').length;
      this.pushTrimmed(pieces, range.start + pieceStart, range.start + match.index + kept);
      pieceStart = match.index + match[0].length;
    }
    this.pushTrimmed(pieces, range.start + pieceStart, range.end);
    return pieces;
  }

  private pushTrimmed(pieces: Range[], start: number, end: number): void {
    const piece = trim(this.text, { start, end });
    if (piece.start < piece.end) pieces.push(piece);
  }

  private splitBetweenTokens(range: Range, out: Range[]): void {
    const first = firstTokenAtOrAfter(this.spans, range.start);
    const last = firstTokenAtOrAfter(this.spans, range.end);
    for (let token = first; token < last; token += this.budget) {
      const final = Math.min(token + this.budget, last) - 1;
      out.push({ start: this.spans.starts[token], end: this.spans.ends[final] });
    }
  }

  private tokens(start: number, end: number): number {
    return tokensBetween(this.spans, start, end);
  }
}

function trim(text: string, range: Range): Range {
  let { start, end } = range;
  while (start < end && isSpace(text.charCodeAt(start))) start++;
  while (end > start && isSpace(text.charCodeAt(end - 1))) end--;
  return { start, end };
}

/** Exactly JavaScript's `\s`, which is what separates tokens. */
function isSpace(code: number): boolean {
  if (code <= 0x20) return code === 0x20 || (code >= 0x09 && code <= 0x0d);
  if (code < 0xa0) return false;
  return (
    code === 0xa0 ||
    code === 0x1680 ||
    (code >= 0x2000 && code <= 0x200a) ||
    code === 0x2028 ||
    code === 0x2029 ||
    code === 0x202f ||
    code === 0x205f ||
    code === 0x3000 ||
    code === 0xfeff
  );
}
