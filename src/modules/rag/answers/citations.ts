import type { AskCitationDto, AskSourceDto } from 'src/modules/rag/answers/ask.dto';

/** `[3]` and `[1, 4]`; anything else in brackets is prose. */
const CITATION = /\[(\d{1,3}(?:\s*,\s*\d{1,3})*)\]/g;

/**
 * The sources an answer cites, in the order it first cites them. Numbers that name no source
 * (a model inventing `[9]` out of six sources) are dropped rather than pointed anywhere.
 */
export function citedSources(answer: string, sources: readonly AskSourceDto[]): AskCitationDto[] {
  const byNumber = new Map(sources.map((source) => [source.n, source]));
  const cited = new Map<number, AskCitationDto>();
  for (const match of answer.matchAll(CITATION)) {
    for (const part of match[1].split(',')) {
      const source = byNumber.get(Number(part.trim()));
      if (!source || cited.has(source.n)) continue;
      const { n, chunkId, documentId, documentName, page } = source;
      cited.set(n, { n, chunkId, documentId, documentName, page });
    }
  }
  return [...cited.values()];
}
