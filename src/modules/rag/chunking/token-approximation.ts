/**
 * Token counts without a tokenizer. Each of these counts one token: a CJK character; a run of
 * up to 8 letters, marks, digits or underscores (longer words count one per 8 characters); any
 * other non-space character (punctuation, symbols, emoji). English prose comes out at 1.1 to
 * 1.3 tokens per word, in line with the BPE tokenizers of current embedding and chat models
 * (about 1.3), and a chunk's size in characters stays bounded whatever the text (no
 * 10,000-letter "word" is one token). Tokens never contain whitespace, so any offset at a
 * whitespace is a token boundary.
 */
const TOKEN = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}]|[\p{L}\p{M}\p{N}_]{1,8}|\S/gu;

/** Start and end offsets of every token of a text, in order. */
export interface TokenSpans {
  readonly starts: Int32Array;
  readonly ends: Int32Array;
  readonly count: number;
}

export function tokenSpans(text: string): TokenSpans {
  let starts: Int32Array = new Int32Array(Math.max(16, text.length >> 2));
  let ends: Int32Array = new Int32Array(starts.length);
  let count = 0;
  const pattern = new RegExp(TOKEN.source, TOKEN.flags);
  for (let match = pattern.exec(text); match !== null; match = pattern.exec(text)) {
    if (count === starts.length) {
      starts = grow(starts);
      ends = grow(ends);
    }
    starts[count] = match.index;
    ends[count] = match.index + match[0].length;
    count++;
  }
  return { starts, ends, count };
}

export function approximateTokenCount(text: string): number {
  return text.match(new RegExp(TOKEN.source, TOKEN.flags))?.length ?? 0;
}

/** Index of the first token starting at or after `offset` (`count` when none does). */
export function firstTokenAtOrAfter(spans: TokenSpans, offset: number): number {
  let low = 0;
  let high = spans.count;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (spans.starts[middle] < offset) low = middle + 1;
    else high = middle;
  }
  return low;
}

/** Tokens starting within [start, end). */
export function tokensBetween(spans: TokenSpans, start: number, end: number): number {
  return firstTokenAtOrAfter(spans, end) - firstTokenAtOrAfter(spans, start);
}

function grow(array: Int32Array): Int32Array {
  const larger = new Int32Array(array.length * 2);
  larger.set(array);
  return larger;
}
