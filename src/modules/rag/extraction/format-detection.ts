import type { DocumentFormat } from 'src/modules/rag/rag.contracts';
import { looksLikeText } from 'src/modules/rag/extraction/text-decoding';

export interface FormatHints {
  /** Client-supplied: a hint, never trusted alone for binary formats. */
  fileName?: string | null;
  contentType?: string | null;
  /** The first bytes of the file; 64 KiB or more lets a DOCX be told from other zips reliably. */
  head: Buffer;
}

/**
 * Only at offset 0: readers tolerate a header later in the first KiB, but text that merely
 * mentions `%PDF-` near its start must stay text.
 */
const PDF_MAGIC = Buffer.from('%PDF-');
const ZIP_LOCAL_HEADER = 0x04034b50;

const CONTENT_TYPES: Record<string, DocumentFormat> = {
  'application/pdf': 'pdf',
  'application/vnd.openxmlformats-officedocument.wordprocessingml.document': 'docx',
  'text/markdown': 'markdown',
  'text/x-markdown': 'markdown',
  'text/html': 'html',
  'application/xhtml+xml': 'html',
  'text/csv': 'csv',
  'application/csv': 'csv',
  'text/tab-separated-values': 'csv',
  'application/json': 'json',
  'text/json': 'json',
  'text/plain': 'text',
};

/** Sent for anything by some clients, so they say nothing about the format. */
const GENERIC_CONTENT_TYPES = new Set(['application/octet-stream', 'binary/octet-stream', 'text/plain', '']);

const EXTENSIONS: Record<string, DocumentFormat> = {
  pdf: 'pdf',
  docx: 'docx',
  md: 'markdown',
  markdown: 'markdown',
  mdown: 'markdown',
  mkd: 'markdown',
  html: 'html',
  htm: 'html',
  xhtml: 'html',
  csv: 'csv',
  tsv: 'csv',
  json: 'json',
  txt: 'text',
  text: 'text',
  log: 'text',
};

const BINARY_FORMATS = new Set<DocumentFormat>(['pdf', 'docx']);

/**
 * The format to extract `head`'s file as, or null when unsupported. Magic bytes decide first,
 * so a PDF named `.txt` is a PDF; then the content type, then the extension. A file that is
 * claimed to be PDF or DOCX but lacks the magic bytes is refused rather than read as text: it is
 * a corrupt or mislabelled binary, and indexing it as text would only store garbage. A zip that
 * is not a DOCX is refused.
 */
export function detectFormat({ fileName, contentType, head }: FormatHints): DocumentFormat | null {
  if (head.subarray(0, PDF_MAGIC.length).equals(PDF_MAGIC)) return 'pdf';
  if (head.length >= 4 && head.readUInt32LE(0) === ZIP_LOCAL_HEADER) return zipHasWordEntries(head) ? 'docx' : null;
  if (!looksLikeText(head)) return null;

  const claimed = formatFromContentType(contentType) ?? formatFromExtension(fileName) ?? plainTextFallback(contentType);
  if (claimed === null || BINARY_FORMATS.has(claimed)) return null;
  return claimed;
}

function formatFromContentType(contentType: string | null | undefined): DocumentFormat | null {
  const mediaType = (contentType ?? '').split(';')[0].trim().toLowerCase();
  if (GENERIC_CONTENT_TYPES.has(mediaType)) return null;
  if (mediaType.endsWith('+json')) return 'json';
  return CONTENT_TYPES[mediaType] ?? null;
}

function formatFromExtension(fileName: string | null | undefined): DocumentFormat | null {
  const match = /\.([a-z0-9]+)$/i.exec(fileName ?? '');
  return match ? (EXTENSIONS[match[1].toLowerCase()] ?? null) : null;
}

function plainTextFallback(contentType: string | null | undefined): DocumentFormat | null {
  return (contentType ?? '').split(';')[0].trim().toLowerCase() === 'text/plain' ? 'text' : null;
}

/**
 * Walks the zip's local file headers within `head` looking for a `word/` entry. Extraction
 * confirms it from the central directory; this only has to tell a DOCX from other zips.
 */
function zipHasWordEntries(head: Buffer): boolean {
  let offset = 0;
  while (offset + 30 <= head.length && head.readUInt32LE(offset) === ZIP_LOCAL_HEADER) {
    const flags = head.readUInt16LE(offset + 6);
    const compressedSize = head.readUInt32LE(offset + 18);
    const nameLength = head.readUInt16LE(offset + 26);
    const extraLength = head.readUInt16LE(offset + 28);
    const nameEnd = offset + 30 + nameLength;
    if (nameEnd > head.length) return false;
    if (head.toString('latin1', offset + 30, nameEnd).startsWith('word/')) return true;
    const dataStart = nameEnd + extraLength;
    const sizeDeferred = (flags & 0x08) !== 0 && compressedSize === 0;
    // Sizes written after the data (streamed zips): find the next header by its signature.
    offset = sizeDeferred ? head.indexOf(Buffer.from('PK\x03\x04', 'latin1'), dataStart) : dataStart + compressedSize;
    if (offset < 0) return false;
  }
  return false;
}
