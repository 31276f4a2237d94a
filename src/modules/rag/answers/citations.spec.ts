import { describe, expect, it } from 'vitest';
import type { AskSourceDto } from 'src/modules/rag/answers/ask.dto';
import { citedInOrder, citedSources } from 'src/modules/rag/answers/citations';

const source = (n: number, page: number | null = n): AskSourceDto => ({
  n,
  chunkId: `doc-${n}:0`,
  documentId: `00000000-0000-4000-8000-00000000000${n}`,
  documentName: `doc ${n}.pdf`,
  page,
  text: `text ${n}`,
});
const SOURCES = [source(1), source(2), source(3, null)];

describe('citedSources', () => {
  it('maps [n] and [n, m] to their sources in order of first citation, once each', () => {
    const cited = citedSources('First [2]. Then [3,1] and again [2, 1].', SOURCES);
    expect(cited.map((c) => c.n)).toEqual([2, 3, 1]);
    expect(cited[0]).toEqual({ n: 2, chunkId: 'doc-2:0', documentId: SOURCES[1].documentId, documentName: 'doc 2.pdf', page: 2 });
    expect(cited[1].page).toBeNull();
    expect(cited[0]).not.toHaveProperty('text');
  });

  it('drops numbers that name no source and brackets that are not citations', () => {
    expect(citedSources('See [0], [4], [12, 2], [a], [1.5] and [ 1 ].', SOURCES).map((c) => c.n)).toEqual([2]);
    expect(citedSources('No citations at all.', SOURCES)).toEqual([]);
    expect(citedSources('[1]', [])).toEqual([]);
  });
});

describe('citedInOrder', () => {
  it('hands back the cited sources themselves, whatever else they carry', () => {
    const sources = [
      { n: 1, start: 0, end: 10 },
      { n: 2, start: 10, end: 20 },
    ];
    expect(citedInOrder('B [2], A [1], B again [2].', sources)).toEqual([sources[1], sources[0]]);
  });
});
