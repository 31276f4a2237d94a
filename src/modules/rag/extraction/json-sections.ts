import type { ExtractedSection } from 'src/modules/rag/rag.contracts';
import { ExtractionError, RagErrorCode } from 'src/modules/rag/rag.exception';
import type { ExtractionLimits } from 'src/modules/rag/extraction/extraction-limits';

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

/**
 * One `path: value` line per leaf (`a.b[0].c: value`, odd keys quoted as `a["key with space"]`),
 * so every line, and so every chunk, says where its value sits in the document.
 */
export function jsonToSections(json: string, limits: ExtractionLimits): ExtractedSection[] {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch (error) {
    throw new ExtractionError(RagErrorCode.ExtractionFailed, `The file is not valid JSON: ${(error as Error).message}`);
  }
  const lines: string[] = [];
  let chars = 0;
  const emit = (path: string, rendered: string) => {
    const line = path ? `${path}: ${rendered}` : rendered;
    chars += line.length + 1;
    if (chars > limits.maxChars) {
      throw new ExtractionError(RagErrorCode.DocumentTooLarge, `The extracted text exceeds ${limits.maxChars} characters`);
    }
    lines.push(line);
  };

  const walk = (node: unknown, path: string, depth: number): void => {
    if (depth > limits.maxJsonDepth) {
      throw new ExtractionError(RagErrorCode.DocumentTooLarge, `The JSON nests deeper than ${limits.maxJsonDepth} levels`);
    }
    if (Array.isArray(node)) {
      if (node.length === 0) return emit(path, '[]');
      node.forEach((item, index) => walk(item, `${path}[${index}]`, depth + 1));
      return;
    }
    if (node !== null && typeof node === 'object') {
      const entries = Object.entries(node);
      if (entries.length === 0) return emit(path, '{}');
      for (const [key, child] of entries) walk(child, joinKey(path, key), depth + 1);
      return;
    }
    emit(path, typeof node === 'string' ? node : JSON.stringify(node));
  };
  walk(value, '', 0);

  const text = lines.join('\n').trim();
  return text ? [{ text, page: null, headings: [] }] : [];
}

function joinKey(path: string, key: string): string {
  if (!IDENTIFIER.test(key)) return `${path}[${JSON.stringify(key)}]`;
  return path ? `${path}.${key}` : key;
}
