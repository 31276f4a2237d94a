import { afterAll, describe, expect, it } from 'vitest';
import { UniversalSentenceEncoderEmbedder } from 'src/modules/rag/embeddings/universal-sentence-encoder.embedder';

const dot = (a: number[], b: number[]) => a.reduce((sum, value, i) => sum + value * b[i], 0);

describe('UniversalSentenceEncoderEmbedder (the real bundled model)', () => {
  const embedder = new UniversalSentenceEncoderEmbedder(4);

  afterAll(() => embedder.close());

  it('places paraphrases closer than unrelated sentences', async () => {
    const [cat, kitten, revenue] = await embedder.embed([
      'The cat sat on the mat',
      'A kitten rested on the rug',
      'Quarterly revenue grew 5%',
    ]);
    expect(dot(cat, kitten)).toBeGreaterThan(dot(cat, revenue) + 0.2);
  });

  it('returns one unit-length 512-d vector per text, in input order, across batches', async () => {
    const texts = Array.from({ length: 10 }, (_, i) => `sentence number ${i} about ${i % 2 ? 'weather' : 'finance'}`);
    const vectors = await embedder.embed(texts);
    expect(vectors).toHaveLength(10);
    for (const vector of vectors) {
      expect(vector).toHaveLength(512);
      expect(Math.hypot(...vector)).toBeCloseTo(1, 5);
    }
    // Batches of 4 must give the same vectors as one call per text.
    const [seventh] = await embedder.embed([texts[7]]);
    expect(dot(seventh, vectors[7])).toBeCloseTo(1, 4);
    expect(dot(vectors[7], vectors[6])).toBeLessThan(0.999);
  });

  it('embeds nothing for no texts, and stops between batches when aborted', async () => {
    expect(await embedder.embed([])).toEqual([]);
    const controller = new AbortController();
    controller.abort(new Error('caller gave up'));
    await expect(embedder.embed(['a', 'b'], controller.signal)).rejects.toThrow('caller gave up');
  });

  it('measures the cost per sentence', async () => {
    const texts = Array.from({ length: 64 }, (_, i) => `Sentence ${i}: the quick brown fox jumps over the lazy dog near river ${i}.`);
    const started = performance.now();
    await embedder.embed(texts);
    const perSentence = (performance.now() - started) / texts.length;
    console.info(`use-512: ${perSentence.toFixed(1)} ms per sentence (batches of 4)`);
    expect(perSentence).toBeLessThan(200);
  });
});
