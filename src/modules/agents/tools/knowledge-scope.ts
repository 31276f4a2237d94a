import { Permission } from 'src/common/auth/permission.enum';
import type { AgentToolContext } from 'src/modules/agents/tools/agent-tool';
import { toolNotAllowed } from 'src/modules/agents/tools/agent-tool.exception';
import type { GroundingCaller } from 'src/modules/rag/grounding';

/** Whom the RAG role reads for: the run's user, with the permissions the run was started with. */
export function callerOf(context: AgentToolContext): GroundingCaller {
  const { workspaceId, userId, apiKeyId, permissions } = context.auth;
  return { workspaceId, userId, apiKeyId: apiKeyId ?? null, permissions: [...permissions] };
}

/**
 * The knowledge bases a tool call may touch: those the run was given (checked readable by its
 * user when the run started), narrowed by the call's own list. An id outside the run is refused
 * before anything is read, with the same answer whether or not it exists anywhere.
 */
export function knowledgeBasesFor(context: AgentToolContext, requested: readonly string[] | undefined): string[] {
  if (!context.auth.permissions.has(Permission.KnowledgeBaseRead)) {
    throw toolNotAllowed(`The user who started this run may not read knowledge bases (${Permission.KnowledgeBaseRead})`);
  }
  if (context.knowledgeBaseIds.length === 0) {
    throw toolNotAllowed('This run was given no knowledge bases to read; start it with knowledge bases to use this tool');
  }
  if (!requested) return [...context.knowledgeBaseIds];
  const given = new Set(context.knowledgeBaseIds);
  const outside = requested.filter((id) => !given.has(id));
  if (outside.length > 0) {
    throw toolNotAllowed(
      `Knowledge base ${outside.join(', ')} is not one this run may read; it may read: ${context.knowledgeBaseIds.join(', ')}`,
    );
  }
  return [...new Set(requested)];
}
