import { describe, expect, it } from 'vitest';
import { reciprocalRankFusion, RRF_K } from 'src/modules/rag/search/reciprocal-rank-fusion';

describe('reciprocalRankFusion', () => {
  it('scores each id by 1/(k + rank) summed over the lists', () => {
    const fused = reciprocalRankFusion([
      ['a', 'b', 'c'],
      ['c', 'a'],
    ]);
    expect(fused.map((hit) => hit.id)).toEqual(['a', 'c', 'b']);
    expect(fused[0].score).toBeCloseTo(1 / (RRF_K + 1) + 1 / (RRF_K + 2));
    expect(fused[1].score).toBeCloseTo(1 / (RRF_K + 3) + 1 / (RRF_K + 1));
    expect(fused[2].score).toBeCloseTo(1 / (RRF_K + 2));
  });

  it('ranks an id found by both lists above one found first by only one', () => {
    const fused = reciprocalRankFusion([
      ['only-keyword', 'both'],
      ['only-vector', 'both'],
    ]);
    expect(fused[0].id).toBe('both');
  });

  it('keeps first-seen order on ties and handles empty lists', () => {
    expect(reciprocalRankFusion([['x'], ['y']]).map((hit) => hit.id)).toEqual(['x', 'y']);
    expect(reciprocalRankFusion([[], []])).toEqual([]);
  });
});
