import type { DocumentFormat, ExtractedDocument, ExtractedSection } from 'src/modules/rag/rag.contracts';
import { ExtractionError, RagErrorCode } from 'src/modules/rag/rag.exception';
import { csvToSections } from 'src/modules/rag/extraction/csv-sections';
import { docxToSections } from 'src/modules/rag/extraction/docx-sections';
import { type ExtractionLimits, resolveLimits } from 'src/modules/rag/extraction/extraction-limits';
import { htmlToSections } from 'src/modules/rag/extraction/html-sections';
import { jsonToSections } from 'src/modules/rag/extraction/json-sections';
import { markdownToSections } from 'src/modules/rag/extraction/markdown-sections';
import { pdfToSections } from 'src/modules/rag/extraction/pdf-sections';
import { decodeText, normalizeText } from 'src/modules/rag/extraction/text-decoding';

export interface ExtractTextInput {
  bytes: Buffer;
  format: DocumentFormat;
  limits?: Partial<ExtractionLimits>;
}

/** Markup is not text: an HTML file may be this many times `maxChars` before it is refused unread. */
const HTML_MARKUP_ALLOWANCE = 4;

/**
 * The document's text as sections (pages, heading-delimited parts), normalized the same way
 * for every format (see `normalizeText`). Fails with an `ExtractionError`: too large (413),
 * empty, unreadable (422) or unsupported (415).
 */
export async function extractText({ bytes, format, limits: overrides }: ExtractTextInput): Promise<ExtractedDocument> {
  const limits = resolveLimits(overrides);
  let sections: ExtractedSection[];
  let pageCount: number | null = null;
  switch (format) {
    case 'pdf':
      ({ sections, pageCount } = await pdfToSections(bytes, limits));
      break;
    case 'docx':
      sections = await docxToSections(bytes, limits);
      break;
    case 'html':
      sections = await htmlToSections(decodeWithin(bytes, limits.maxChars * HTML_MARKUP_ALLOWANCE), limits.maxHtmlDepth);
      break;
    case 'markdown':
      sections = markdownToSections(normalizeText(decodeWithin(bytes, limits.maxChars)));
      break;
    case 'csv':
      sections = csvToSections(normalizeText(decodeWithin(bytes, limits.maxChars)), limits);
      break;
    case 'json':
      sections = jsonToSections(decodeWithin(bytes, limits.maxChars), limits);
      break;
    case 'text':
      sections = [{ text: decodeWithin(bytes, limits.maxChars), page: null, headings: [] }];
      break;
    default:
      throw new ExtractionError(RagErrorCode.UnsupportedFormat, `Unsupported document format ${JSON.stringify(format)}`);
  }

  const normalized = sections
    .map((section) => ({ ...section, text: normalizeText(section.text).trim() }))
    .filter((section) => section.text.length > 0);
  if (normalized.length === 0) {
    const hint = format === 'pdf' ? ' (a scanned PDF without a text layer needs OCR first)' : '';
    throw new ExtractionError(RagErrorCode.DocumentEmpty, `The document contains no extractable text${hint}`);
  }
  const totalChars = normalized.reduce((sum, section) => sum + section.text.length, 2 * (normalized.length - 1));
  if (totalChars > limits.maxChars) throw tooManyChars(limits.maxChars);
  return { format, sections: normalized, pageCount };
}

/** Refused once decoded, before any parsing builds structures from it. */
function decodeWithin(bytes: Buffer, maxChars: number): string {
  const text = decodeText(bytes);
  if (text.length > maxChars) throw tooManyChars(maxChars);
  return text;
}

const tooManyChars = (maxChars: number) =>
  new ExtractionError(RagErrorCode.DocumentTooLarge, `The extracted text exceeds ${maxChars} characters`);
