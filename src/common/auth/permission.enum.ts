import { registerEnumType } from '@nestjs/graphql';

/**
 * Every permission in the platform, as `resource.action`. Routes declare one of these with
 * `@Authenticated({ permission })`; roles are sets of them (see `roles.ts`).
 * Modules add their resources here so that one list shows who can do what.
 */
export enum Permission {
  // Workspace-scoped: granted by a role in the workspace the request acts on.
  WorkspaceRead = 'workspace.read',
  WorkspaceUpdate = 'workspace.update',
  WorkspaceDelete = 'workspace.delete',
  MemberRead = 'member.read',
  MemberManage = 'member.manage',
  RoleRead = 'role.read',
  RoleManage = 'role.manage',
  ApiKeyRead = 'api-key.read',
  ApiKeyCreate = 'api-key.create',
  ApiKeyRevoke = 'api-key.revoke',
  ModelRead = 'model.read',
  UsageRead = 'usage.read',
  /** Call models: chat completions and embeddings (the `/v1` API and everything built on it). */
  ModelInvoke = 'model.invoke',
  ConversationRead = 'conversation.read',
  ConversationWrite = 'conversation.write',
  KnowledgeBaseRead = 'knowledge-base.read',
  /** Create, change and delete knowledge bases and their documents. */
  KnowledgeBaseWrite = 'knowledge-base.write',
  /** See the workspace's agents (built-in and custom). */
  AgentRead = 'agent.read',
  /** Create, change and delete the workspace's custom agents. */
  AgentWrite = 'agent.write',
  /** Start and cancel workflow runs (the models they call also need model.invoke). */
  WorkflowRun = 'workflow.run',
  /** Read your workflow runs, their steps, events and artifacts. */
  WorkflowRead = 'workflow.read',

  // Instance-scoped: only instance administrators hold these.
  AdminUserRead = 'admin.user.read',
  AdminUserManage = 'admin.user.manage',
  AdminAuditRead = 'admin.audit.read',
  AdminSettingsManage = 'admin.settings.manage',
  AdminSystemManage = 'admin.system.manage',
  AdminModelManage = 'admin.model.manage',
  AdminQuotaManage = 'admin.quota.manage',
}

export const INSTANCE_PERMISSIONS: readonly Permission[] = [
  Permission.AdminUserRead,
  Permission.AdminUserManage,
  Permission.AdminAuditRead,
  Permission.AdminSettingsManage,
  Permission.AdminSystemManage,
  Permission.AdminModelManage,
  Permission.AdminQuotaManage,
];

export const WORKSPACE_PERMISSIONS: readonly Permission[] = Object.values(Permission).filter(
  (permission) => !INSTANCE_PERMISSIONS.includes(permission),
);

// GraphQL names the values by their keys (`WorkspaceRead`): dots are not allowed there.
registerEnumType(Permission, {
  name: 'Permission',
  description: 'A permission, `resource.action` on REST (WorkspaceRead = workspace.read)',
});
