/**
 * Ceilings that keep one hostile or accidental upload from exhausting a worker's memory or
 * time. Each is checked before the expensive step it protects, where the format allows.
 */
export interface ExtractionLimits {
  /** Extracted text, in UTF-16 code units, across the whole document. */
  maxChars: number;
  maxPdfPages: number;
  /** Sum of the declared uncompressed sizes of a DOCX's zip entries. */
  maxZipUncompressedBytes: number;
  /** Uncompressed / compressed size, for the whole zip and for any entry over 1 MiB. */
  maxZipCompressionRatio: number;
  maxZipEntries: number;
  maxCsvRows: number;
  maxCsvColumns: number;
  maxJsonDepth: number;
  /** Open HTML elements at once (also applies to the HTML mammoth makes from a DOCX). */
  maxHtmlDepth: number;
}

export const DEFAULT_EXTRACTION_LIMITS: Readonly<ExtractionLimits> = Object.freeze({
  maxChars: 20_000_000,
  maxPdfPages: 5_000,
  maxZipUncompressedBytes: 128 * 1024 * 1024,
  maxZipCompressionRatio: 100,
  maxZipEntries: 10_000,
  maxCsvRows: 200_000,
  maxCsvColumns: 512,
  maxJsonDepth: 64,
  maxHtmlDepth: 256,
});

export function resolveLimits(overrides: Partial<ExtractionLimits> | undefined): ExtractionLimits {
  return { ...DEFAULT_EXTRACTION_LIMITS, ...overrides };
}
