import { Controller } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import { CommonErrors } from 'src/common/errors/app.exception';
import { rolePattern } from 'src/common/transport/role-messages';
import {
  GroundingRequest,
  GroundingResult,
  KnowledgeBaseCheck,
  MAX_GROUNDING_KNOWLEDGE_BASES,
  MAX_GROUNDING_QUERIES,
  MAX_GROUNDING_QUERY_CHARS,
  MAX_GROUNDING_SOURCES,
} from 'src/modules/rag/grounding/grounding.contract';
import { GroundingService } from 'src/modules/rag/grounding/grounding.service';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const MAX_PERMISSIONS = 200;

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
      knowledgeBaseIds: knowledgeBaseIds(check.knowledgeBaseIds),
    });
  }

  @MessagePattern(rolePattern('rag.grounding.retrieve'))
  retrieve(@Payload() payload: unknown): Promise<GroundingResult> {
    return this.grounding.retrieve(groundingRequest(payload));
  }
}

function groundingRequest(payload: unknown): GroundingRequest {
  const request = record(payload);
  const caller = record(request.caller);
  const permissions = caller.permissions;
  if (!Array.isArray(permissions) || permissions.length > MAX_PERMISSIONS || !permissions.every((p) => typeof p === 'string')) {
    throw invalid('caller.permissions must be a list of permission names');
  }
  if (caller.apiKeyId !== null && typeof caller.apiKeyId !== 'string') throw invalid('caller.apiKeyId must be a string or null');
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
    caller: {
      workspaceId: uuid(caller.workspaceId, 'caller.workspaceId'),
      userId: uuid(caller.userId, 'caller.userId'),
      apiKeyId: caller.apiKeyId,
      permissions: permissions.map(String),
    },
    knowledgeBaseIds: knowledgeBaseIds(request.knowledgeBaseIds),
    queries: (queries as string[]).map((query) => query.trim().slice(0, MAX_GROUNDING_QUERY_CHARS)),
    limit,
  };
}

function knowledgeBaseIds(value: unknown): string[] {
  if (
    !Array.isArray(value) ||
    value.length > MAX_GROUNDING_KNOWLEDGE_BASES ||
    !value.every((id) => typeof id === 'string' && UUID.test(id))
  ) {
    throw invalid(`knowledgeBaseIds must be at most ${MAX_GROUNDING_KNOWLEDGE_BASES} UUIDs`);
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
