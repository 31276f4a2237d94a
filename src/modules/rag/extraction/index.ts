export { detectFormat, type FormatHints } from 'src/modules/rag/extraction/format-detection';
export { extractText, type ExtractTextInput } from 'src/modules/rag/extraction/extract-text';
export { DEFAULT_EXTRACTION_LIMITS, type ExtractionLimits } from 'src/modules/rag/extraction/extraction-limits';
