import { Controller } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import { CommonErrors } from 'src/common/errors/app.exception';
import { rolePattern } from 'src/common/transport/role-messages';
import { MAX_SEARCH_LIMIT, SEARCH_MODES, SearchMode } from 'src/modules/rag/dto/search.dto';
import {
  DocumentRead,
  DocumentReadRequest,
  GroundingCaller,
  GroundingRequest,
  GroundingResult,
  KnowledgeBaseCheck,
  KnowledgeSearchRequest,
  KnowledgeSearchResult,
  MAX_CHECKED_KNOWLEDGE_BASES,
  MAX_GROUNDING_KNOWLEDGE_BASES,
  MAX_GROUNDING_QUERIES,
  MAX_GROUNDING_QUERY_CHARS,
  MAX_GROUNDING_SOURCES,
  MAX_READ_DOCUMENT_BYTES,
  MAX_SEARCH_DOCUMENT_IDS,
} from 'src/modules/rag/grounding/grounding.contract';
import type { DocumentFormat } from 'src/modules/rag/rag.contracts';
import { GroundingService } from 'src/modules/rag/grounding/grounding.service';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const MAX_PERMISSIONS = 200;
const DOCUMENT_FORMATS: readonly DocumentFormat[] = ['text', 'markdown', 'html', 'pdf', 'docx', 'csv', 'json'];

/**
 * Cross-role entry points for grounding (no HTTP routes). Payloads come from another process
 * of the deployment, not from a client, but their shape is still checked: a malformed one must
 * fail clearly rather than reach SQL or the embedder.
 */
@Controller()
export class GroundingHandler {
  constructor(private readonly grounding: GroundingService) {}

  @MessagePattern(rolePattern('rag.grounding.require-knowledge-bases'))
  requireKnowledgeBases(@Payload() payload: unknown): Promise<KnowledgeBaseCheck> {
    const check = record(payload);
    return this.grounding.requireKnowledgeBases({
      workspaceId: uuid(check.workspaceId, 'workspaceId'),
      knowledgeBaseIds: knowledgeBaseIds(check.knowledgeBaseIds, MAX_CHECKED_KNOWLEDGE_BASES),
    });
  }

  @MessagePattern(rolePattern('rag.grounding.retrieve'))
  retrieve(@Payload() payload: unknown): Promise<GroundingResult> {
    return this.grounding.retrieve(groundingRequest(payload));
  }

  @MessagePattern(rolePattern('rag.grounding.search'))
  search(@Payload() payload: unknown): Promise<KnowledgeSearchResult> {
    return this.grounding.search(searchRequest(payload));
  }

  @MessagePattern(rolePattern('rag.grounding.read-document'))
  readDocument(@Payload() payload: unknown): Promise<DocumentRead> {
    return this.grounding.readDocument(readRequest(payload));
  }
}

function searchRequest(payload: unknown): KnowledgeSearchRequest {
  const request = record(payload);
  const query = request.query;
  if (typeof query !== 'string' || !/\S/.test(query)) throw invalid('query must be a non-blank string');
  if (!(SEARCH_MODES as readonly unknown[]).includes(request.mode)) throw invalid(`mode must be one of ${SEARCH_MODES.join(', ')}`);
  const limit = request.limit;
  if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 1 || limit > MAX_SEARCH_LIMIT) {
    throw invalid(`limit must be an integer from 1 to ${MAX_SEARCH_LIMIT}`);
  }
  const documentIds = request.documentIds === undefined ? undefined : uuids(request.documentIds, 'documentIds', MAX_SEARCH_DOCUMENT_IDS);
  return {
    caller: caller(request.caller),
    knowledgeBaseId: uuid(request.knowledgeBaseId, 'knowledgeBaseId'),
    query: query.trim().slice(0, MAX_GROUNDING_QUERY_CHARS),
    mode: request.mode as SearchMode,
    limit,
    ...(documentIds ? { documentIds } : {}),
  };
}

function readRequest(payload: unknown): DocumentReadRequest {
  const request = record(payload);
  const formats = request.formats;
  if (!Array.isArray(formats) || !formats.every((format) => DOCUMENT_FORMATS.includes(format as DocumentFormat))) {
    throw invalid(`formats must be a list of ${DOCUMENT_FORMATS.join(', ')}`);
  }
  const maxBytes = request.maxBytes;
  if (typeof maxBytes !== 'number' || !Number.isInteger(maxBytes) || maxBytes < 0 || maxBytes > MAX_READ_DOCUMENT_BYTES) {
    throw invalid(`maxBytes must be an integer from 0 to ${MAX_READ_DOCUMENT_BYTES}`);
  }
  return {
    caller: caller(request.caller),
    knowledgeBaseIds: knowledgeBaseIds(request.knowledgeBaseIds, MAX_CHECKED_KNOWLEDGE_BASES),
    documentId: uuid(request.documentId, 'documentId'),
    formats: [...new Set(formats as DocumentFormat[])],
    maxBytes,
  };
}

function groundingRequest(payload: unknown): GroundingRequest {
  const request = record(payload);
  const queries = request.queries;
  if (
    !Array.isArray(queries) ||
    queries.length === 0 ||
    queries.length > MAX_GROUNDING_QUERIES ||
    !queries.every((query) => typeof query === 'string' && /\S/.test(query))
  ) {
    throw invalid(`queries must be 1 to ${MAX_GROUNDING_QUERIES} non-blank strings`);
  }
  const limit = request.limit;
  if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 1 || limit > MAX_GROUNDING_SOURCES) {
    throw invalid(`limit must be an integer from 1 to ${MAX_GROUNDING_SOURCES}`);
  }
  return {
    caller: caller(request.caller),
    knowledgeBaseIds: knowledgeBaseIds(request.knowledgeBaseIds),
    queries: (queries as string[]).map((query) => query.trim().slice(0, MAX_GROUNDING_QUERY_CHARS)),
    limit,
  };
}

function caller(value: unknown): GroundingCaller {
  const fields = record(value);
  const permissions = fields.permissions;
  if (!Array.isArray(permissions) || permissions.length > MAX_PERMISSIONS || !permissions.every((p) => typeof p === 'string')) {
    throw invalid('caller.permissions must be a list of permission names');
  }
  if (fields.apiKeyId !== null && typeof fields.apiKeyId !== 'string') throw invalid('caller.apiKeyId must be a string or null');
  return {
    workspaceId: uuid(fields.workspaceId, 'caller.workspaceId'),
    userId: uuid(fields.userId, 'caller.userId'),
    apiKeyId: fields.apiKeyId,
    permissions: permissions.map(String),
  };
}

function knowledgeBaseIds(value: unknown, max = MAX_GROUNDING_KNOWLEDGE_BASES): string[] {
  return uuids(value, 'knowledgeBaseIds', max);
}

function uuids(value: unknown, name: string, max: number): string[] {
  if (!Array.isArray(value) || value.length > max || !value.every((id) => typeof id === 'string' && UUID.test(id))) {
    throw invalid(`${name} must be at most ${max} UUIDs`);
  }
  return [...new Set(value as string[])];
}

function record(value: unknown): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw invalid('the payload must be an object');
  return value as Record<string, unknown>;
}

function uuid(value: unknown, name: string): string {
  if (typeof value !== 'string' || !UUID.test(value)) throw invalid(`${name} must be a UUID`);
  return value;
}

const invalid = (message: string) => CommonErrors.validation(`Invalid grounding request: ${message}`);
