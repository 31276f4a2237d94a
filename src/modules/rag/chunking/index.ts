export { chunkDocument, documentText, SECTION_SEPARATOR } from 'src/modules/rag/chunking/chunk-document';
export { MAX_CHUNK_TOKENS, MIN_CHUNK_TOKENS, validateChunkingSettings } from 'src/modules/rag/chunking/chunking-settings';
export { approximateTokenCount } from 'src/modules/rag/chunking/token-approximation';
