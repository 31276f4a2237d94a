import type { RunControlMessage, RunEvent } from 'src/modules/agents/events/run-events';
import type { AuditEventDto } from 'src/modules/audit/audit-events.dto';
import type { ConversationStreamEvent } from 'src/modules/conversations/conversation-stream';
import type { DocumentProgressPayload } from 'src/modules/realtime/realtime-events';
import type { WorkspaceMemberChangeDto } from 'src/modules/workspaces/workspaces.dto';

/**
 * Every live topic with its payload, one map for the whole app (like `AppEventMap`).
 * A module adding a subscription adds its topic here; a topic may be narrowed by a scope
 * (usually the workspace id) when published and subscribed.
 */
export interface PubSubTopics {
  /** Every audit record, instance-wide. */
  'audit-event-recorded': AuditEventDto;
  /** Scoped by workspace id. */
  'workspace-member-changed': WorkspaceMemberChangeDto;
  /** Scoped by conversation id: a turn's message, route, tokens and end. */
  'conversation-stream': ConversationStreamEvent;
  /** Scoped by knowledge base id: each document's ingestion stage and percent. */
  'rag-document-progress': DocumentProgressPayload;
  /** Scoped by run id: a workflow run's plan, tasks, tool calls, answer tokens and end. */
  'agent-run-event': RunEvent;
  /** Instance-wide: stop a run's in-flight calls on whichever replica runs them. */
  'agent-run-control': RunControlMessage;
}

export type PubSubTopic = keyof PubSubTopics;
