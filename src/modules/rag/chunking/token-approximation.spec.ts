import { describe, expect, it } from 'vitest';
import { approximateTokenCount, firstTokenAtOrAfter, tokenSpans, tokensBetween } from 'src/modules/rag/chunking/token-approximation';

describe('token approximation', () => {
  it('counts words and punctuation', () => {
    expect(approximateTokenCount('The quick brown fox jumps over the lazy dog.')).toBe(10);
    expect(approximateTokenCount("It's 42, isn't it?")).toBe(10);
    expect(approximateTokenCount('   \n\t ')).toBe(0);
  });

  it('counts one token per 8 letters of a long word, and per CJK character or emoji', () => {
    expect(approximateTokenCount('internationalization')).toBe(3);
    expect(approximateTokenCount('x'.repeat(10_000))).toBe(1250);
    expect(approximateTokenCount('東京都庁')).toBe(4);
    expect(approximateTokenCount('ok 👍🏽')).toBe(3);
    expect(approximateTokenCount('Größenänderung')).toBe(2);
  });

  it('records token offsets and counts tokens between offsets', () => {
    const text = 'alpha, beta gamma';
    const spans = tokenSpans(text);
    expect(spans.count).toBe(4);
    expect(Array.from(spans.starts.subarray(0, spans.count))).toEqual([0, 5, 7, 12]);
    expect(Array.from(spans.ends.subarray(0, spans.count))).toEqual([5, 6, 11, 17]);
    expect(tokensBetween(spans, 0, text.length)).toBe(4);
    expect(tokensBetween(spans, 7, 11)).toBe(1);
    expect(firstTokenAtOrAfter(spans, 6)).toBe(2);
    expect(firstTokenAtOrAfter(spans, 100)).toBe(4);
  });

  it('grows past its initial guess of the token count', () => {
    const text = '.'.repeat(1000);
    expect(tokenSpans(text).count).toBe(1000);
  });
});
