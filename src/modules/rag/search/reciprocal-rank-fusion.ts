/** The usual constant (Cormack et al., 2009): damps the weight of the very first ranks. */
export const RRF_K = 60;

/**
 * Fuses ranked lists of ids into one, scoring each id by the sum of 1 / (k + rank) over the
 * lists it appears in (rank from 1). Ties keep the order in which ids were first seen.
 */
export function reciprocalRankFusion(rankings: string[][], k = RRF_K): { id: string; score: number }[] {
  const scores = new Map<string, number>();
  for (const ranking of rankings) {
    ranking.forEach((id, index) => scores.set(id, (scores.get(id) ?? 0) + 1 / (k + index + 1)));
  }
  return [...scores].map(([id, score]) => ({ id, score })).sort((a, b) => b.score - a.score);
}
