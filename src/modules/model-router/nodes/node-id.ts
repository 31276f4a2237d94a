/**
 * Short, stable id of a node for URLs: `<host>-<port>` of its base URL (`gpu-1-11434`,
 * `10.0.3.7-11434`), prefixed `https-` for TLS nodes. The pool's own id (`ollama:<url>`, as
 * in router metrics and route info) is accepted too, URL-encoded.
 */
export function nodeSlug(url: string): string {
  const parsed = new URL(url);
  const port = parsed.port || (parsed.protocol === 'https:' ? '443' : '80');
  const host = parsed.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  const slug = `${host}-${port}`.replace(/[^a-z0-9.-]/g, '-');
  return parsed.protocol === 'https:' ? `https-${slug}` : slug;
}

export const NODE_ID_MAX_LENGTH = 300;
const SLUG = /^[a-z0-9][a-z0-9.-]*$/;
const POOL_ID = /^ollama:https?:\/\/[^\s/?#]+$/;

export function isNodeIdShape(value: string): boolean {
  return value.length <= NODE_ID_MAX_LENGTH && (SLUG.test(value) || POOL_ID.test(value));
}
