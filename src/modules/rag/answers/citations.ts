import type { AskCitationDto, AskSourceDto } from 'src/modules/rag/answers/ask.dto';

/** `[3]` and `[1, 4]`; anything else in brackets is prose. */
const CITATION = /\[(\d{1,3}(?:\s*,\s*\d{1,3})*)\]/g;

/**
 * The sources an answer cites, in the order it first cites them, once each. Numbers that name
 * no source (a model inventing `[9]` out of six sources) are dropped rather than pointed anywhere.
 */
export function citedInOrder<S extends { n: number }>(answer: string, sources: readonly S[]): S[] {
  const byNumber = new Map(sources.map((source) => [source.n, source]));
  const cited = new Map<number, S>();
  for (const match of answer.matchAll(CITATION)) {
    for (const part of match[1].split(',')) {
      const source = byNumber.get(Number(part.trim()));
      if (source && !cited.has(source.n)) cited.set(source.n, source);
    }
  }
  return [...cited.values()];
}

/** The citations of an answer to `ask`: its cited sources without their text. */
export function citedSources(answer: string, sources: readonly AskSourceDto[]): AskCitationDto[] {
  return citedInOrder(answer, sources).map(({ n, chunkId, documentId, documentName, page }) => ({
    n,
    chunkId,
    documentId,
    documentName,
    page,
  }));
}
