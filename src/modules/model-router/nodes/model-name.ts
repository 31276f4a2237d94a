/**
 * Ollama model names: `[host/][namespace/]model[:tag]`, e.g. `llama3.1:8b`,
 * `library/qwen2.5:7b-instruct`, `hf.co/bartowski/Llama-3.2-1B-Instruct-GGUF:Q4_K_M`.
 * Each part starts with a letter, digit or `_`, as in Ollama's own parser, which also rules
 * out `.`, `..` and empty parts; a scheme (`http://`) never parses.
 */
export const MODEL_NAME_MAX_LENGTH = 200;

const PART = '[A-Za-z0-9_][A-Za-z0-9_.-]{0,79}';
const HOST = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,252}(:\d{1,5})?$/;
const NAMESPACE = new RegExp(`^${PART}$`);
const MODEL_WITH_TAG = new RegExp(`^${PART}(:${PART})?$`);

const DEFAULT_HOST = 'registry.ollama.ai';
const DEFAULT_NAMESPACE = 'library';

export interface ParsedModelName {
  /** Host part, lower-cased, when the name has one (three parts). */
  host?: string;
  /** How Ollama lists it in /api/tags and /api/ps: default host and namespace dropped, `:latest` added. */
  listedName: string;
}

/** Null when the name is not a valid Ollama model name. */
export function parseModelName(name: string): ParsedModelName | null {
  if (name.length === 0 || name.length > MODEL_NAME_MAX_LENGTH) return null;
  const parts = name.split('/');
  if (parts.length > 3) return null;
  const last = parts[parts.length - 1];
  if (!MODEL_WITH_TAG.test(last)) return null;
  const namespace = parts.length >= 2 ? parts[parts.length - 2] : undefined;
  if (namespace !== undefined && !NAMESPACE.test(namespace)) return null;
  const host = parts.length === 3 ? parts[0].toLowerCase() : undefined;
  if (host !== undefined && !HOST.test(host)) return null;

  const tagged = last.includes(':') ? last : `${last}:latest`;
  const prefix: string[] = [];
  if (host !== undefined && host !== DEFAULT_HOST) prefix.push(host);
  if (namespace !== undefined && (prefix.length > 0 || namespace !== DEFAULT_NAMESPACE)) prefix.push(namespace);
  return { host, listedName: [...prefix, tagged].join('/') };
}

/** A name Ollama lists (`llama3.2:latest`) matches a request for `llama3.2` too. */
export function sameModel(listed: string, parsed: ParsedModelName): boolean {
  return (listed.includes(':') ? listed : `${listed}:latest`) === parsed.listedName;
}
