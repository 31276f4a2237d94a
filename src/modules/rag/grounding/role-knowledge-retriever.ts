import { Injectable } from '@nestjs/common';
import { RoleClient } from 'src/common/transport/role-client.service';
import { AppConfig } from 'src/config/app-config';
import {
  DocumentRead,
  DocumentReadRequest,
  GroundingRequest,
  GroundingResult,
  KnowledgeRetriever,
  KnowledgeSearchRequest,
  KnowledgeSearchResult,
} from 'src/modules/rag/grounding/grounding.contract';

/** Retrieval embeds the queries, on CPU with the bundled encoder: more than a plain call may need. */
const MIN_RETRIEVAL_TIMEOUT_MS = 30_000;

/**
 * KnowledgeRetriever over the role transport: handled in this process when it runs the `rag`
 * role, otherwise by a `rag` process over NATS or Redis. With no `rag` process reachable, calls
 * fail with the transport's `503 ROLE_UNAVAILABLE` (or `504 ROLE_TIMEOUT`), at once.
 */
@Injectable()
export class RoleKnowledgeRetriever extends KnowledgeRetriever {
  constructor(
    private readonly roles: RoleClient,
    private readonly config: AppConfig,
  ) {
    super();
  }

  async requireKnowledgeBases(workspaceId: string, knowledgeBaseIds: string[]): Promise<void> {
    if (knowledgeBaseIds.length === 0) return;
    await this.roles.send('rag.grounding.require-knowledge-bases', { workspaceId, knowledgeBaseIds });
  }

  retrieve(request: GroundingRequest): Promise<GroundingResult> {
    return this.roles.send('rag.grounding.retrieve', request, { timeoutMs: this.retrievalTimeoutMs() });
  }

  search(request: KnowledgeSearchRequest): Promise<KnowledgeSearchResult> {
    return this.roles.send('rag.grounding.search', request, { timeoutMs: this.retrievalTimeoutMs() });
  }

  readDocument(request: DocumentReadRequest): Promise<DocumentRead> {
    return this.roles.send('rag.grounding.read-document', request);
  }

  private retrievalTimeoutMs(): number {
    return Math.max(this.config.roleCallTimeoutMs, MIN_RETRIEVAL_TIMEOUT_MS);
  }
}
