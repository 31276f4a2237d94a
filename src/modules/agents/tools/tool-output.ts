/**
 * Every tool result is bounded before the model reads it: a long web page or document must not
 * crowd the run's context out (or its token budget), and the cut is marked so the model knows
 * it did not see everything.
 */

/** The most characters of `content` any tool returns; the registry cuts anything longer. */
export const MAX_TOOL_CONTENT_CHARS = 16_000;

const marker = (shown: number, total: number) => `…[truncated: ${shown} of ${total} characters shown]`;

/** `text` cut to at most `maxChars` characters, marker included, never splitting a surrogate pair. */
export function truncateText(text: string, maxChars: number): string {
  if (text.length <= maxChars) return text;
  let keep = Math.max(0, maxChars - marker(maxChars, text.length).length);
  // A lone high surrogate at the end would make the string invalid UTF-16.
  if (keep > 0 && /[\uD800-\uDBFF]/.test(text[keep - 1])) keep--;
  return text.slice(0, keep) + marker(keep, text.length);
}

/** The content the model reads, bounded; tools build it from JSON.stringify so untrusted text stays a quoted value. */
export function boundContent(content: string, maxChars = MAX_TOOL_CONTENT_CHARS): string {
  return truncateText(content, maxChars);
}

/** Untrusted text from a document or page, in one line of JSON: it cannot end the value it sits in. */
export function jsonContent(value: unknown, maxChars = MAX_TOOL_CONTENT_CHARS): string {
  return boundContent(JSON.stringify(value), maxChars);
}
