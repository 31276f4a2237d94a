import { AgentDefinition } from 'src/modules/agents/definitions/agent-definition.entity';
import { AgentArtifact } from 'src/modules/agents/runs/agent-artifact.entity';
import { AgentRun } from 'src/modules/agents/runs/agent-run.entity';
import { AgentStep } from 'src/modules/agents/runs/agent-step.entity';
import { AgentTask } from 'src/modules/agents/runs/agent-task.entity';
import { ApiKey } from 'src/modules/auth/api-keys/api-key.entity';
import { RefreshToken } from 'src/modules/auth/tokens/refresh-token.entity';
import { Session } from 'src/modules/auth/tokens/session.entity';
import { AuditEvent } from 'src/modules/audit/audit-event.entity';
import { ConversationKnowledgeBase } from 'src/modules/conversations/conversation-knowledge-base.entity';
import { ConversationMessage } from 'src/modules/conversations/conversation-message.entity';
import { Conversation } from 'src/modules/conversations/conversation.entity';
import { LlmUpstream } from 'src/modules/model-router/registry/llm-upstream.entity';
import { Model } from 'src/modules/model-router/registry/model.entity';
import { TokenQuota } from 'src/modules/model-router/usage/token-quota.entity';
import { UsageRecord } from 'src/modules/model-router/usage/usage-record.entity';
import { RagChunk } from 'src/modules/rag/documents/rag-chunk.entity';
import { RagDocument } from 'src/modules/rag/documents/rag-document.entity';
import { KnowledgeBase } from 'src/modules/rag/knowledge-bases/knowledge-base.entity';
import { InstanceSetting } from 'src/modules/settings/instance-setting.entity';
import { User } from 'src/modules/users/user.entity';
import { WorkspaceMember } from 'src/modules/workspaces/workspace-member.entity';
import { WorkspaceRole } from 'src/modules/workspaces/workspace-role.entity';
import { Workspace } from 'src/modules/workspaces/workspace.entity';

/**
 * Every entity of the app. TypeORM needs the full list (not per-module globs) so that the
 * migration generator and the drift test see exactly what the running app sees.
 */
export const ENTITIES = [
  User,
  Workspace,
  WorkspaceMember,
  WorkspaceRole,
  Session,
  RefreshToken,
  ApiKey,
  AuditEvent,
  InstanceSetting,
  LlmUpstream,
  Model,
  Conversation,
  ConversationMessage,
  ConversationKnowledgeBase,
  UsageRecord,
  TokenQuota,
  KnowledgeBase,
  RagDocument,
  RagChunk,
  AgentDefinition,
  AgentRun,
  AgentTask,
  AgentStep,
  AgentArtifact,
];
